// Priority rules pages.
// 1. A condition row offers only the operators that make sense for its field
//    (each field <option> lists them in data-operators), and shows the value
//    control that fits: nothing for yes/no facts, the list of names for
//    statuses, status groups, departments and types, a text box otherwise.
//    The server refuses the rest anyway (integration/tickets/condition_form.py).
// 2. The dry run and "Try with e-mail" say they are reading while the
//    vendors answer (the page waits for RetailCRM).
// 3. On a new rule, choosing the shop reloads the form with its lists.
(function () {
  "use strict";

  function rowOf(element) { return element.closest("tr") || element.closest(".form-row"); }

  function applyField(fieldSelect) {
    var row = rowOf(fieldSelect);
    if (!row) { return; }
    var option = fieldSelect.options[fieldSelect.selectedIndex];
    var operatorSelect = row.querySelector("select[name$='-operator']");
    var allowed = option && option.getAttribute("data-operators");
    var pick = option ? option.getAttribute("data-pick") || "" : "";
    var kind = option ? option.getAttribute("data-kind") || "text" : "text";
    if (operatorSelect && allowed) {
      var names = allowed.split(" ");
      var firstAllowed = null;
      Array.prototype.forEach.call(operatorSelect.options, function (op) {
        var ok = names.indexOf(op.value) !== -1;
        op.hidden = !ok;
        op.disabled = !ok;
        if (ok && firstAllowed === null) { firstAllowed = op.value; }
      });
      if (names.indexOf(operatorSelect.value) === -1 && firstAllowed !== null) {
        operatorSelect.value = firstAllowed;
      }
    }
    var text = row.querySelector("[data-value-input]");
    var picks = row.querySelectorAll("[data-value-pick]");
    var picked = false;
    Array.prototype.forEach.call(picks, function (select) {
      var mine = select.getAttribute("data-value-pick") === pick;
      select.hidden = !mine;
      if (mine) { picked = true; }
    });
    if (text) {
      text.hidden = kind === "yes-no" || picked;
      text.inputMode = kind === "number" ? "decimal" : "text";
    }
  }

  function applyAll(root) {
    Array.prototype.forEach.call(root.querySelectorAll("select[name$='-field']"), applyField);
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("select[name$='-field']")) {
      applyField(event.target);
    }
    // 3. A new rule's lists (priorities, fields, statuses, managers) are the
    //    chosen shop's: choosing another shop reloads the form for it.
    if (event.target.matches && event.target.matches("#priorityrule_form select[name='shop']")
        && /\/add\/$/.test(window.location.pathname) && event.target.value) {
      window.location.search = "?shop=" + encodeURIComponent(event.target.value);
    }
  });
  document.addEventListener("formset:added", function (event) { applyAll(event.target); });
  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-progress-form]");
    if (!form) { return; }
    var note = form.querySelector("[data-progress]");
    if (note) { note.hidden = false; }
    form.classList.add("busy");
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { applyAll(document); });
  } else {
    applyAll(document);
  }
})();
