// The wizard's live check: <div data-live-url="…"> asks the portal every
// few seconds for a fresh fragment (whether HDE's first webhook arrived, and
// the shop's checklist) and shows it, until the fragment says
// data-settled. A plain fetch: no library, and nothing inline (the console's
// CSP has no 'unsafe-inline').
(function () {
  "use strict";
  var INTERVAL_MS = 2000, MAX_POLLS = 900;  // at most half an hour per page view
  // The wizard's step bar ticks "First webhook" as soon as the fragment says so.
  function tickStep() {
    var step = document.querySelector(".console-steps li[data-step=live]");
    if (!step || step.classList.contains("done") ||
        !document.querySelector("[data-live-url] [data-arrived]")) { return; }
    var tick = document.createElement("span");
    tick.className = "console-ok";
    tick.textContent = "✓";
    step.classList.add("done");
    step.appendChild(tick);
  }
  function start(box) {
    var url = box.getAttribute("data-live-url"), polls = 0;
    function settled() { return box.querySelector("[data-settled]") !== null; }
    function poll() {
      if (settled() || polls >= MAX_POLLS) { return; }
      polls += 1;
      fetch(url, {credentials: "same-origin", headers: {"X-Requested-With": "fetch"}})
        .then(function (response) {
          // A redirect is the login page (the session ended): stop, show nothing of it.
          if (response.redirected) { polls = MAX_POLLS; return null; }
          return response.ok ? response.text() : null;
        })
        .then(function (html) {
          if (html !== null) { box.innerHTML = html; tickStep(); }
        })
        .catch(function () { /* a dropped request: the next poll tries again */ })
        .then(function () { window.setTimeout(poll, INTERVAL_MS); });
    }
    window.setTimeout(poll, INTERVAL_MS);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-live-url]").forEach(start);
  });
})();
