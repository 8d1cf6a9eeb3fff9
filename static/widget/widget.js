/* The card's few behaviours beyond htmx (live parts: templates/widget/*.html):
   copy a reply, one submission per form (a double click must not send twice;
   the server's nonce guards it too), and the operator's HelpDeskEddy e-mail
   remembered in this browser for the reply preview (it only chooses who a
   reply is signed by; it grants nothing). Listeners sit on the document, so
   pieces htmx swaps in behave the same. */
(function () {
  "use strict";
  var KEY = "portal.widget.operatorEmail";

  function stored() {
    try { return window.localStorage.getItem(KEY) || ""; } catch (e) { return ""; }
  }
  function store(value) {
    try { window.localStorage.setItem(KEY, value); } catch (e) { /* private mode */ }
  }
  function fill(root) {
    (root || document).querySelectorAll("[data-operator-email]").forEach(function (input) {
      if (!input.value) { input.value = stored(); }
    });
  }
  function legacyCopy(area) {
    var wasDisabled = area.disabled;
    area.disabled = false; area.select(); document.execCommand("copy");
    area.disabled = wasDisabled;
  }

  // A background reload of the card (`card-changed`: the ticket's job just
  // finished) must not wipe what the operator is doing: an open reply
  // preview, or text typed and not sent. It is skipped then, at the request
  // and again at the swap (the answer may arrive after the preview opened);
  // the operator's own Refresh, Cancel or submit brings the card up to date.
  function busy(card) {
    if (card.querySelector("[data-preview]")) { return true; }
    return Array.prototype.some.call(
      card.querySelectorAll("textarea:not([readonly]), input[type=text], input:not([type])"),
      function (field) { return field.value !== field.defaultValue; });
  }
  function backgroundReload(event) {
    // Who asked: the card itself (its `card-changed` trigger), not the
    // operator's Refresh or Cancel, which also target the card.
    var detail = event.detail || {};
    var asker = (detail.requestConfig && detail.requestConfig.elt) || detail.elt;
    return asker && asker.id === "card" && busy(asker);
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (backgroundReload(event)) { event.preventDefault(); }
  });
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (backgroundReload(event)) { event.detail.shouldSwap = false; }
  });

  document.addEventListener("DOMContentLoaded", function () { fill(document); });
  document.addEventListener("htmx:load", function (event) { fill(event.target); });
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("[data-operator-email]")) {
      store(event.target.value.trim());
    }
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy]");
    if (!button) { return; }
    var area = button.closest("article").querySelector("[data-reply-text]");
    var done = function () { button.textContent = button.dataset.copied || "✓"; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(area.value).then(done, function () { legacyCopy(area); done(); });
    } else { legacyCopy(area); done(); }
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if ((form.getAttribute("method") || "").toLowerCase() !== "post") { return; }
    if (form.dataset.sent) { event.preventDefault(); return; }
    form.dataset.sent = "1";
    // Disabled after the submission has read the clicked button's value.
    setTimeout(function () {
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
    }, 0);
  });
})();
