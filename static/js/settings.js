// Workspace settings: copy a new token, confirm destructive buttons. No build step.
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    const copy = event.target.closest("[data-copy-secret]");
    if (copy) {
      const field = document.querySelector("[data-secret]");
      field.select();
      navigator.clipboard.writeText(field.value).then(function () {
        if (window.studioToast) window.studioToast("Copied the token");
      });
    }
  });

  // <button data-confirm="question"> asks before its form is sent.
  document.addEventListener("submit", function (event) {
    const button = event.submitter;
    if (button && button.dataset.confirm && !window.confirm(button.dataset.confirm)) {
      event.preventDefault();
    }
  });
})();
