// Custos web UI: passkeys. Registering one (My account) and deciding on a
// request with one (the request page). The challenges come from the page,
// which the coordinator rendered; the answers go back to this origin only.
"use strict";
(function () {
  function fromB64url(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    const bin = atob(s);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  function toB64url(buf) {
    const bytes = new Uint8Array(buf);
    let bin = "";
    for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function csrf() {
    const main = document.getElementById("main");
    return main ? main.dataset.csrf : "";
  }
  function showError(el, msg) {
    el.textContent = msg;
    el.hidden = false;
  }
  function webauthnMessage(e) {
    if (e && e.name === "NotAllowedError") return "The passkey prompt was cancelled or timed out. Nothing was recorded.";
    if (e && e.name === "InvalidStateError") return "This authenticator is registered already.";
    return "The passkey did not answer: " + (e && e.message ? e.message : e);
  }

  // Registration.
  const reg = document.getElementById("passkey-form");
  if (reg) {
    const err = document.getElementById("passkey-error");
    reg.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      err.hidden = true;
      if (!window.PublicKeyCredential) { showError(err, "This browser does not support passkeys."); return; }
      const button = document.getElementById("add-passkey");
      button.disabled = true;
      try {
        const r = await fetch(reg.dataset.options, { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf() } });
        const options = await r.json();
        if (!r.ok) { showError(err, options.error); return; }
        const pk = options.publicKey;
        pk.challenge = fromB64url(pk.challenge);
        pk.user.id = fromB64url(pk.user.id);
        (pk.excludeCredentials || []).forEach(function (c) { c.id = fromB64url(c.id); });
        let cred;
        try {
          cred = await navigator.credentials.create({ publicKey: pk });
        } catch (e) { showError(err, webauthnMessage(e)); return; }
        const body = {
          label: document.getElementById("passkey-label").value,
          credential: {
            id: cred.id,
            rawId: toB64url(cred.rawId),
            type: cred.type,
            response: {
              clientDataJSON: toB64url(cred.response.clientDataJSON),
              attestationObject: toB64url(cred.response.attestationObject),
              transports: cred.response.getTransports ? cred.response.getTransports() : [],
            },
            clientExtensionResults: cred.getClientExtensionResults(),
            authenticatorAttachment: cred.authenticatorAttachment || undefined,
          },
        };
        const f = await fetch(reg.action, {
          method: "POST", credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
          body: JSON.stringify(body),
        });
        const res = await f.json();
        if (!f.ok) { showError(err, res.error); return; }
        window.location.assign(res.location);
      } catch (e) {
        showError(err, "Custos could not be reached. Nothing was changed; try again.");
      } finally {
        button.disabled = false;
      }
    });
  }

  // Deciding on a request.
  const form = document.getElementById("vote-form");
  if (form) {
    const err = document.getElementById("vote-error");
    let decision = "";
    form.querySelectorAll("button[data-decision]").forEach(function (b) {
      b.addEventListener("click", function () { decision = b.dataset.decision; });
    });
    form.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      err.hidden = true;
      if (decision !== "approve" && decision !== "reject") return;
      if (!window.PublicKeyCredential) { showError(err, "This browser does not support passkeys."); return; }
      const challenge = decision === "approve" ? form.dataset.challengeApprove : form.dataset.challengeReject;
      const allow = form.dataset.credentials.split(" ").filter(Boolean).map(function (id) {
        return { type: "public-key", id: fromB64url(id) };
      });
      form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
      try {
        const a = await navigator.credentials.get({ publicKey: {
          challenge: fromB64url(challenge),
          rpId: form.dataset.rpId,
          allowCredentials: allow,
          userVerification: "required",
          timeout: 120000,
        } });
        form.elements.decision.value = decision;
        form.elements.credential_id.value = toB64url(a.rawId);
        form.elements.authenticator_data.value = toB64url(a.response.authenticatorData);
        form.elements.client_data_json.value = toB64url(a.response.clientDataJSON);
        form.elements.signature.value = toB64url(a.response.signature);
        form.submit();
      } catch (e) {
        showError(err, webauthnMessage(e));
        form.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
      }
    });
  }
})();
