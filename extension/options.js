// Sign-in (portal URL + token), where the panel appears, and the advanced
// ticket-page pattern. Everything goes through the service worker.
"use strict";

translatePage();
const $ = (id) => document.getElementById(id);

function say(text, kind) {
  $("message").hidden = !text;
  $("message").textContent = text;
  $("message").className = "message" + (kind ? " " + kind : "");
}

async function render() {
  const state = await chrome.runtime.sendMessage({type: "status"});
  $("signed-in").hidden = !state.signedIn;
  if (state.managedPortalUrl || !$("portal").value) {
    $("portal").value = state.managedPortalUrl || state.portalUrl || "";
  }
  $("portal").readOnly = Boolean(state.managedPortalUrl);
  if (state.signedIn) {
    document.querySelector("[data-test=signed-in-as]").textContent =
      t("signedInAs", [state.agency, state.portalUrl]);
    $("sites").replaceChildren(...state.sites.map((site) => {
      const item = document.createElement("li");
      const code = document.createElement("code");
      code.textContent = site.url;
      item.append(code);
      return item;
    }));
    if (!state.sites.length) {
      const item = document.createElement("li");
      item.textContent = t("noSites");
      $("sites").replaceChildren(item);
    }
  }
  $("pattern").value = state.patternOverride;
  $("pattern").placeholder = state.portalPattern;
  $("pattern").readOnly = Boolean(state.managedPattern);
  $("pattern-in-use").textContent = state.managedPattern || state.patternOverride
    || state.portalPattern;
  document.body.dataset.ready = "true";
}

$("signin").addEventListener("submit", async (event) => {
  event.preventDefault();
  say("");
  const answer = await chrome.runtime.sendMessage({
    type: "signin", portalUrl: $("portal").value, token: $("token").value,
  });
  if (answer && answer.ok) {
    $("token").value = "";
    say(t("signedIn", [answer.agency]), "ok");
  } else {
    say(explain(answer && answer.code, answer && answer.detail), "error");
  }
  render();
});

$("signout").addEventListener("click", async () => {
  await chrome.runtime.sendMessage({type: "signout"});
  say(t("signedOutDone"), "");
  render();
});

$("refresh").addEventListener("click", async () => {
  const answer = await chrome.runtime.sendMessage({type: "refresh"});
  if (answer && answer.ok) say(t("refreshed"), "ok");
  else say(explain(answer && answer.code, answer && answer.detail), "error");
  render();
});

$("advanced").addEventListener("submit", async (event) => {
  event.preventDefault();
  const answer = await chrome.runtime.sendMessage({type: "pattern", pattern: $("pattern").value});
  if (answer && answer.ok) say(t("saved"), "ok");
  else say(explain(answer && answer.code), "error");
  render();
});

render();
