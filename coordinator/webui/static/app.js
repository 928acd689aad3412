// Custos web UI: the queue's live count and copy buttons. No external
// requests; every page works without this script.
"use strict";
(function () {
  const badge = document.getElementById("needs-me-count");
  if (!badge) return;
  async function refresh() {
    try {
      const r = await fetch("/queue/counts", { credentials: "same-origin", cache: "no-store" });
      if (!r.ok) return;
      const c = await r.json();
      badge.textContent = c.needs_me > 0 ? String(c.needs_me) : "";
    } catch (e) { /* offline: try again later */ }
  }
  refresh();
  setInterval(refresh, 5000);
})();

// Copy buttons (data-copy names the element whose text they copy), shown
// only where the browser lets a page write to the clipboard.
(function () {
  if (!navigator.clipboard) return;
  document.querySelectorAll("button[data-copy]").forEach(function (btn) {
    const target = document.getElementById(btn.dataset.copy);
    if (!target) return;
    btn.hidden = false;
    btn.addEventListener("click", async function () {
      try {
        await navigator.clipboard.writeText(target.textContent);
        btn.textContent = "Copied";
      } catch (e) {
        btn.textContent = "Copy failed: select the text and copy it";
      }
    });
  });
})();

// Links to slow pages (data-busy: the whole audit chain's verification)
// say they are working once followed, and are not followed twice.
(function () {
  document.querySelectorAll("a[data-busy]").forEach(function (a) {
    a.addEventListener("click", function (ev) {
      if (a.getAttribute("aria-busy") === "true") { ev.preventDefault(); return; }
      a.setAttribute("aria-busy", "true");
      a.textContent = a.dataset.busy;
    });
  });
})();

// Times are written in UTC; hovering one shows it in local time too.
(function () {
  document.querySelectorAll("time[datetime]").forEach(function (t) {
    const d = new Date(t.getAttribute("datetime"));
    if (!isNaN(d)) t.title = d.toLocaleString();
  });
})();
