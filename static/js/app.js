// Small page behaviours; no inline scripts (the CSP forbids them).
(function () {
  "use strict";
  function focusErrors(root) {
    var summary = (root || document).querySelector("[data-autofocus]");
    if (summary) summary.focus();
  }
  document.addEventListener("DOMContentLoaded", function () { focusErrors(document); });
  document.addEventListener("htmx:afterSwap", function (event) { focusErrors(event.target); });

  // A form marked data-submit-once goes once: a double click does not send it twice while the
  // next page loads. The server refuses a repeat anyway (a one-time form token); this spares
  // the wait.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-submit-once")) return;
    if (form.hasAttribute("data-sent")) { event.preventDefault(); return; }
    form.setAttribute("data-sent", "");
    var button = event.submitter;
    // Disabled only after the browser has read the form, so the button's name and value go too.
    if (button) setTimeout(function () { button.disabled = true; }, 0);
  });
  // Back on the page from the browser's cache: the form can be sent again.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    document.querySelectorAll("form[data-sent]").forEach(function (form) {
      form.removeAttribute("data-sent");
      form.querySelectorAll("button:disabled").forEach(function (b) { b.disabled = false; });
    });
  });
})();
