// Copy buttons of the console: <button data-copy="element-id">. Uses the
// Clipboard API where allowed (https or localhost); otherwise selects the
// text so Ctrl+C works. The button says what happened.
(function () {
  "use strict";
  function selectText(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) { return; }
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) { return; }
    var text = source.textContent;
    var done = function (ok) {
      button.setAttribute("data-copied", ok ? "yes" : "selected");
      button.classList.add("copied");
      if (!ok) { selectText(source); }
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done(true); },
                                               function () { done(false); });
    } else {
      done(false);
    }
  });
})();
