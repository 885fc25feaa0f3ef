// Small behaviours shared by every page. No build step, no framework.
(function () {
  "use strict";

  // Back buttons (error pages): <button data-history-back>.
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-history-back]")) history.back();
  });

  // Copy-to-clipboard buttons: <button data-copy="text">.
  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-copy]");
    if (!button) return;
    const text = button.dataset.copy.startsWith("/") ? location.origin + button.dataset.copy : button.dataset.copy;
    navigator.clipboard.writeText(text).then(function () { showToast("Copied link"); });
  });

  // A short message at the bottom of the screen; `action` is an optional {label, run}.
  function showToast(message, action) {
    const toast = document.getElementById("toast");
    if (!toast) return;
    toast.textContent = message;
    if (action) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = action.label;
      button.addEventListener("click", function () { toast.hidden = true; action.run(); });
      toast.appendChild(button);
    }
    toast.hidden = false;
    clearTimeout(showToast.timer);
    showToast.timer = setTimeout(function () { toast.hidden = true; }, action ? 10000 : 2500);
  }
  window.studioToast = showToast;

  // Server-sent toasts: HX-Trigger {"showToast": {"message": "..."}}.
  document.addEventListener("showToast", function (event) {
    showToast(event.detail.message || event.detail.value);
  });
})();
