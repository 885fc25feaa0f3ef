// Small behaviours shared by every page. No build step, no framework.
(function () {
  "use strict";

  // Back buttons (error pages): <button data-history-back>.
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-history-back]")) history.back();
  });

  // Polls marked data-poll-when-visible skip their turn while the tab is hidden (a
  // trigger filter would say so in the markup, but filters are eval'd: allowEval is off).
  document.addEventListener("htmx:confirm", function (event) {
    if (document.hidden && event.target.closest("[data-poll-when-visible]")) event.preventDefault();
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

  // A toast is about the last action: the next one (not a poll) clears it, so that an old
  // message never stands beside a new error.
  function hideToast() {
    const toast = document.getElementById("toast");
    if (toast) toast.hidden = true;
    clearTimeout(showToast.timer);
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    const trigger = (event.detail.elt && event.detail.elt.getAttribute("hx-trigger")) || "";
    if (!/\bevery\b|\bload\b/.test(trigger)) hideToast();
  });
  document.addEventListener("submit", hideToast);

  // Popovers (<details class="popover"> and "view-popover"): one open at a time; Escape,
  // a click outside and sending their form close them (Columns changes on the fly, so it
  // stays open while boxes are ticked).
  const POPOVERS = "details.popover[open], details.view-popover[open]";
  function closePopovers(except) {
    document.querySelectorAll(POPOVERS).forEach(function (d) {
      if (d !== except && !d.contains(except)) d.open = false;
    });
  }
  document.addEventListener("toggle", function (event) {
    const d = event.target;
    if (d.open && d.matches && d.matches("details.popover, details.view-popover")) closePopovers(d);
  }, true);
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    const open = document.querySelectorAll(POPOVERS);
    if (!open.length) return;
    const last = open[open.length - 1];
    closePopovers(null);
    const summary = last.querySelector("summary");
    if (summary) summary.focus();
    event.stopPropagation();
  }, true);
  document.addEventListener("click", function (event) {
    const inside = event.target.closest("details.popover, details.view-popover");
    closePopovers(inside);
  });
  document.addEventListener("submit", function (event) {
    const d = event.target.closest("details.popover, details.view-popover");
    if (d) d.open = false;
  });
  window.studioClosePopovers = closePopovers;
})();
