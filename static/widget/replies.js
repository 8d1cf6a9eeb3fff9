/* Reply templates in the widget: copy to the clipboard, and one submit per form
   (a double click must not send twice; the server's nonce guards it too). */
(function () {
  "use strict";
  function copyText(area, button) {
    var done = function () { button.textContent = button.dataset.copied || "✓"; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(area.value).then(done, function () { legacy(area); done(); });
    } else { legacy(area); done(); }
  }
  function legacy(area) { area.disabled = false; area.select(); document.execCommand("copy"); }
  document.querySelectorAll("article.reply").forEach(function (card) {
    var area = card.querySelector("[data-reply-text]");
    var copy = card.querySelector("[data-copy]");
    if (copy && area) { copy.addEventListener("click", function () { copyText(area, copy); }); }
    var form = card.querySelector("form[data-action=reply]");
    if (!form) { return; }
    form.addEventListener("submit", function (event) {
      if (form.dataset.sent) { event.preventDefault(); return; }
      form.dataset.sent = "1";
      // Disabled after the submission has read the clicked button's value.
      setTimeout(function () {
        form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
      }, 0);
    });
  });
})();
