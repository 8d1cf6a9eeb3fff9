// The shop page's "Test connection": posts the small form beside the page's
// own form and shows the answer (a server-rendered fragment) in place. The
// same POST without scripts answers with messages on the shop page.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-connection-test]");
    if (!form) { return; }
    event.preventDefault();
    var result = document.getElementById(form.getAttribute("data-result"));
    var button = form.querySelector("button");
    button.disabled = true;
    form.classList.add("testing");
    result.textContent = form.getAttribute("data-testing");
    fetch(form.action, {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: {"X-Requested-With": "fetch"}
    }).then(function (response) {
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.text();
    }).then(function (html) {
      result.innerHTML = html;
    }).catch(function () {
      result.textContent = form.getAttribute("data-failed");
    }).then(function () {
      button.disabled = false;
      form.classList.remove("testing");
    });
  });
})();
