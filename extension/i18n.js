// Fills the extension pages' texts from _locales (the browser's language).
"use strict";

function t(key, substitutions) {
  return chrome.i18n.getMessage(key, substitutions) || key;
}

function translatePage() {
  document.documentElement.lang = chrome.i18n.getUILanguage().split("-")[0];
  for (const node of document.querySelectorAll("[data-i18n]")) {
    node.textContent = t(node.dataset.i18n);
  }
  for (const node of document.querySelectorAll("[data-i18n-placeholder]")) {
    node.placeholder = t(node.dataset.i18nPlaceholder);
  }
}

// The message for an answer's code: the portal's `detail` (already in the
// browser's language) only when the extension has nothing better.
function explain(code, detail) {
  const known = {
    signed_out: "signedOut", unreachable: "unreachable", no_shop: "noShop",
    unknown_ticket: "unknownTicket", malformed: "malformed", bad_portal_url: "badPortalUrl",
    no_token: "noToken", bad_pattern: "badPattern",
  };
  if (known[code]) return t(known[code]);
  return detail || t("unexpected");
}
