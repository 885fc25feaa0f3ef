// The run list: child rows, selection, the bulk bar, undo, keyboard. No build step.
// `/` search · j/k move · x select · Enter open.
(function () {
  "use strict";

  function table() { return document.getElementById("run-table"); }
  function rows() {
    const t = table();
    return t ? Array.from(t.querySelectorAll("tr.run-row")).filter(function (r) { return !r.hidden; }) : [];
  }

  // --- children: the caret loads them once (htmx), then shows/hides them ---------
  function descendants(row) {
    const id = row.dataset.run;
    return Array.from(table().querySelectorAll("tr[data-ancestors]")).filter(function (r) {
      return r.dataset.ancestors.split(" ").indexOf(id) >= 0;
    });
  }
  function refreshVisibility(row) {
    descendants(row).forEach(function (r) {
      // Visible when every ancestor from here down is expanded.
      const chain = r.dataset.ancestors.split(" ");
      const start = chain.indexOf(row.dataset.run);
      r.hidden = chain.slice(start).some(function (id) {
        const caret = document.querySelector('tr[data-run="' + CSS.escape(id) + '"] .caret');
        return caret && caret.getAttribute("aria-expanded") !== "true";
      });
    });
  }
  document.addEventListener("click", function (event) {
    const caret = event.target.closest("#run-table .caret");
    if (!caret) return;
    event.preventDefault();
    const row = caret.closest("tr");
    const open = caret.getAttribute("aria-expanded") === "true";
    if (!caret.dataset.loaded) {
      caret.dataset.loaded = "1";
      caret.setAttribute("aria-busy", "true");
      htmx.ajax("GET", caret.dataset.childrenUrl, { source: caret, target: row, swap: "afterend" })
        .then(function () {
          caret.removeAttribute("aria-busy");
          caret.setAttribute("aria-expanded", "true");
          updateSelection();
        });
      return;
    }
    caret.setAttribute("aria-expanded", open ? "false" : "true");
    refreshVisibility(row);
  });

  // "N children hidden by the filter · Show them": the run's children without the
  // list's conditions replace the ones shown (and their loaded descendants).
  document.addEventListener("click", function (event) {
    const link = event.target.closest("#run-table [data-show-hidden]");
    if (!link) return;
    event.preventDefault();
    const parent = document.querySelector('tr[data-run="' + CSS.escape(link.dataset.showHidden) + '"]');
    if (!parent) return;
    descendants(parent).forEach(function (r) { r.remove(); });
    htmx.ajax("GET", link.dataset.childrenUrl, { source: parent, target: parent, swap: "afterend" })
      .then(updateSelection);
  });

  // --- selection and the bulk bar ----------------------------------------------
  function boxes() {
    const t = table();
    return t ? Array.from(t.querySelectorAll('input[name="runs"][form="run-bulk"]')) : [];
  }
  function updateSelection() {
    const all = boxes();
    const chosen = all.filter(function (b) { return b.checked; });
    all.forEach(function (b) { b.closest("tr").classList.toggle("selected", b.checked); });
    const count = document.querySelector("[data-bulk-count]");
    if (count) {
      if (!count.dataset.empty) count.dataset.empty = count.textContent;
      count.textContent = chosen.length ? chosen.length + " selected" : count.dataset.empty;
    }
    document.querySelectorAll("[data-bulk-action]").forEach(function (b) { b.disabled = !chosen.length; });
    const head = document.querySelector("[data-select-all]");
    if (head) {
      head.checked = all.length > 0 && chosen.length === all.length;
      head.indeterminate = chosen.length > 0 && chosen.length < all.length;
    }
  }
  // Compare: the selected runs side by side (/w/<ws>/compare/?runs=a,b,c).
  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-compare-url]");
    if (!button) return;
    const ids = boxes().filter(function (b) { return b.checked; }).map(function (b) { return b.value; });
    if (ids.length) location.assign(button.dataset.compareUrl + "?runs=" + ids.map(encodeURIComponent).join(","));
  });
  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-select-all]")) {
      boxes().forEach(function (b) { if (!b.closest("tr").hidden) b.checked = event.target.checked; });
    }
    if (event.target.matches('input[name="runs"], [data-select-all]')) updateSelection();
  });
  // A destructive action asks first.
  document.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-confirm]");
    if (button && !window.confirm(button.dataset.confirm)) event.preventDefault();
  });

  // Done: a toast, with Undo for tag changes (one POST of the inverse change).
  document.addEventListener("runsBulkDone", function (event) {
    const detail = event.detail || {};
    if (!window.studioToast) return;
    if (!detail.undo) { window.studioToast(detail.message); return; }
    window.studioToast(detail.message, {
      label: "Undo",
      run: function () {
        const form = document.getElementById("run-bulk");
        if (!form) return;
        htmx.ajax("POST", form.getAttribute("hx-post"), {
          source: form, target: "#run-table", swap: "outerHTML",
          values: { action: "undo", token: detail.undo },
        });
      },
    });
  });

  // --- keep the search box, open popovers and focus across swaps ----------------
  let openPopovers = [];
  let focusedRun = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (!event.detail.target || event.detail.target.id !== "run-table") return;
    openPopovers = Array.from(document.querySelectorAll("#run-table details[open]")).map(function (d) { return d.id; });
    const f = document.querySelector("#run-table tr.kb-focus");
    focusedRun = f ? f.dataset.run : null;
  });
  function syncSearch() {
    const t = table();
    if (!t) return;
    [["id_q", t.dataset.q], ["id_filter", t.dataset.filter]].forEach(function (pair) {
      const input = document.getElementById(pair[0]);
      if (input && document.activeElement !== input && pair[1] !== undefined) input.value = pair[1];
    });
  }
  document.addEventListener("htmx:afterSwap", function (event) {
    if (!event.detail.target) return;
    if (event.detail.target.id === "run-table" || event.detail.elt.id === "run-table") {
      openPopovers.forEach(function (id) { const d = document.getElementById(id); if (d) d.open = true; });
      if (focusedRun) {
        const r = document.querySelector('tr[data-run="' + CSS.escape(focusedRun) + '"]');
        if (r) r.classList.add("kb-focus");
      }
      syncSearch();
    }
    updateSelection();
  });
  // History restores bring back an old snapshot: the search box follows the table.
  document.addEventListener("htmx:historyRestore", syncSearch);
  window.addEventListener("popstate", function () { setTimeout(syncSearch, 0); });

  // --- keyboard ---------------------------------------------------------------
  function focusRow(row) {
    document.querySelectorAll("#run-table tr.kb-focus").forEach(function (r) { r.classList.remove("kb-focus"); });
    if (!row) return;
    row.classList.add("kb-focus");
    row.scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const tag = (event.target.tagName || "").toLowerCase();
    const typing = tag === "input" || tag === "textarea" || tag === "select" || event.target.isContentEditable;
    if (event.key === "Escape" && typing) { event.target.blur(); return; }
    if (typing) return;
    const all = rows();
    const current = document.querySelector("#run-table tr.kb-focus");
    const index = current ? all.indexOf(current) : -1;
    if (event.key === "/") {
      event.preventDefault();
      const q = document.getElementById("id_q");
      if (q) { q.focus(); q.select(); }
    } else if (event.key === "j") {
      focusRow(all[Math.min(all.length - 1, index + 1)]);
    } else if (event.key === "k") {
      focusRow(all[Math.max(0, index - 1)]);
    } else if (event.key === "x" && current) {
      const box = current.querySelector('input[name="runs"]');
      if (box) { box.checked = !box.checked; updateSelection(); }
    } else if (event.key === "Enter" && current) {
      window.location.href = current.dataset.href;
    }
  });

  document.addEventListener("DOMContentLoaded", updateSelection);
})();
