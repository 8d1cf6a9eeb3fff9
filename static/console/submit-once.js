// Forms marked data-submit-once send once: a second click while the first
// answer is on its way does nothing. The server refuses a repeat anyway
// (integration.tenancy.secret_confirmation), but the page the person would
// then see is the repeat's answer, not the one that carries the new secret.
// A page brought back by the browser's Back button is ready to send again.
(function () {
  "use strict";
  function ready(form, yes) {
    form.toggleAttribute("data-submitted", !yes);
    form.querySelectorAll("[type=submit]").forEach(function (button) {
      button.classList.toggle("console-busy", !yes);
      button.setAttribute("aria-disabled", yes ? "false" : "true");
    });
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-submit-once")) { return; }
    if (form.hasAttribute("data-submitted")) { event.preventDefault(); return; }
    ready(form, false);
  }, true);
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) { return; }
    document.querySelectorAll("form[data-submit-once]").forEach(function (form) {
      ready(form, true);
    });
  });
})();
