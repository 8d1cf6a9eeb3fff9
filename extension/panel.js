// The panel's own page (framed by the content script inside the HDE page)
// for every state without a widget: signed out, revoked, unknown ticket,
// portal unreachable. Sign-in here goes straight to the service worker.
// Any web page may frame an extension's web-accessible page, so this one
// shows nothing unless its parent is one of the agency's HDE systems (the
// page's parameters, e.g. a message, must never be a stranger's text).
"use strict";

translatePage();
const params = new URLSearchParams(location.search);
const code = params.get("code") || "unexpected";
const message = document.getElementById("message");
const form = document.getElementById("signin");
const retry = document.getElementById("retry");

function say(text, kind) {
  message.textContent = text;
  message.className = "message" + (kind ? " " + kind : "");
}

async function start() {
  const state = await chrome.runtime.sendMessage({type: "status"});
  const parent = (location.ancestorOrigins || [])[0] || "";
  if (!state || !state.sites.some((site) => site.origin === parent)) {
    document.querySelector("main").replaceChildren();
    return;
  }
  document.body.dataset.code = code;
  say(explain(code, params.get("detail")), code === "signed_out" ? "" : "error");
  if (code === "signed_out") {
    form.hidden = false;
    const portal = document.getElementById("portal");
    portal.value = state.managedPortalUrl || state.portalUrl || "";
    portal.readOnly = Boolean(state.managedPortalUrl);
    (portal.value ? document.getElementById("token") : portal).focus();
  } else {
    retry.hidden = false;
  }
  document.body.dataset.ready = "true";
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const answer = await chrome.runtime.sendMessage({
    type: "signin", portalUrl: document.getElementById("portal").value,
    token: document.getElementById("token").value,
  });
  if (answer && answer.ok) {
    say(t("signedIn", [answer.agency]), "ok");
    form.hidden = true;
  } else {
    say(explain(answer && answer.code, answer && answer.detail), "error");
  }
});

retry.addEventListener("click", () => chrome.runtime.sendMessage({type: "retry"}));
start();
