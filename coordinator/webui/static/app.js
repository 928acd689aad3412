// Custos web UI: the queue's live count. No external requests; the page
// works without this script (it only refreshes the counts).
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
