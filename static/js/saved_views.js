// Saved views: the view's charts (StudioCharts over the runs on the page), copying a
// view's link, and the "Save view" form taking the list's current state. No build step.
(function () {
  "use strict";

  let drawn = [];
  let drawnFor = null;

  function enc(text) { return encodeURIComponent(text); }

  function chartSpec(chart) {
    if (chart.type === "line") {
      return { type: "line", metric: chart.metric, logY: !!chart.logY, smoothing: chart.smoothing || 0, height: 240 };
    }
    if (chart.type === "bar") return { type: "bar", field: "metrics." + chart.metric };
    if (chart.type === "scatter") {
      return { type: "scatter", x: chart.x, y: chart.y, logX: !!chart.logX, logY: !!chart.logY, height: 240 };
    }
    return { type: "parallel", dimensions: chart.dimensions, color: chart.color || chart.dimensions[chart.dimensions.length - 1], height: 240 };
  }

  // Line and bar charts leave out the runs of the page that have nothing to draw (a list
  // mixes experiments that log different metrics); a run keeps its colour in every chart.
  function withValues(chart, data) {
    const runs = data.runs || [];
    const colourIndex = {};
    runs.forEach(function (r, i) { colourIndex[r.runId] = i; });
    let keep = null;
    if (chart.type === "line") keep = function (r) { return r.steps && r.steps.length; };
    if (chart.type === "bar") keep = function (r) { return StudioCharts.fieldValue(r, "metrics." + chart.metric) !== null; };
    if (!keep) return { data: data, colourIndex: colourIndex, left: 0 };
    const kept = runs.filter(keep);
    // With nothing to draw, the chart says so itself.
    if (!kept.length) return { data: data, colourIndex: colourIndex, left: 0 };
    return {
      data: Object.assign({}, data, { runs: kept }),
      colourIndex: colourIndex,
      left: runs.length - kept.length,
      what: chart.type === "line" ? "points of " + chart.metric : "a value of " + chart.metric,
    };
  }

  function message(body, text) {
    body.removeAttribute("aria-busy");
    body.innerHTML = "";
    const div = document.createElement("div");
    div.className = "chart-message";
    div.textContent = text;
    body.appendChild(div);
  }

  function drawCharts() {
    const section = document.getElementById("view-charts");
    if (!section || section === drawnFor) return;
    drawn.forEach(function (c) { c.destroy(); });
    drawn = [];
    drawnFor = section;
    const charts = JSON.parse(section.dataset.charts || "[]");
    const runs = section.dataset.runs;
    section.querySelectorAll("[data-chart-index]").forEach(function (figure) {
      const chart = charts[Number(figure.dataset.chartIndex)];
      const body = figure.querySelector(".chart-body");
      if (!chart || !body) return;
      if (!runs) { message(body, "No runs on this page to chart."); return; }
      if (!window.StudioCharts) { message(body, "Charts could not be loaded."); return; }
      const url = chart.type === "line"
        ? section.dataset.seriesUrl + "?runs=" + enc(runs) + "&metric=" + enc(chart.metric) + "&points=1000"
        : section.dataset.valuesUrl + "?runs=" + enc(runs);
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          return response.json().then(function (json) { return { ok: response.ok, json: json }; });
        })
        .then(function (result) {
          if (section !== drawnFor) return;  // the list changed meanwhile
          if (!result.ok) {
            message(body, (result.json.error && result.json.error.message) || "The chart could not be loaded.");
            return;
          }
          body.removeAttribute("aria-busy");
          body.innerHTML = "";
          const shown = withValues(chart, result.json);
          drawn.push(StudioCharts.render(body, Object.assign(chartSpec(chart), { colourIndex: shown.colourIndex }), shown.data));
          if (shown.left) {
            const note = document.createElement("div");
            note.className = "chart-message chart-note";
            note.textContent = shown.left + " run" + (shown.left === 1 ? "" : "s") + " on this page without " + shown.what + " left out.";
            body.appendChild(note);
          }
          figure.dataset.drawn = "1";
        })
        .catch(function () { message(body, "The chart could not be loaded."); });
    });
  }

  // The add-chart form shows the inputs of the chosen type only.
  function syncChartForm(form) {
    const select = form.querySelector("[data-chart-type-select]");
    if (!select) return;
    form.querySelectorAll("[data-for]").forEach(function (label) {
      const show = label.dataset.for.split(" ").indexOf(select.value) >= 0;
      label.hidden = !show;
      label.querySelectorAll("select, input").forEach(function (input) { input.disabled = !show; });
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-chart-type-select]")) syncChartForm(event.target.form);
  });

  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-copy-link]");
    if (!button) return;
    const link = button.dataset.copyLink;
    const done = function () { if (window.studioToast) window.studioToast("Link copied: " + link); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(link).then(done, function () { selectLink(); });
    } else {
      selectLink();
    }
  });
  function selectLink() {
    const input = document.querySelector("[data-view-link]");
    if (!input) return;
    input.focus();
    input.select();
    try { document.execCommand("copy"); } catch (e) { /* the text stays selected to copy by hand */ }
    if (window.studioToast) window.studioToast("Link selected: copy it with Ctrl+C");
  }

  // "Save view" and "Add chart" on the run list: the list's state is the address bar's
  // (htmx pushes it).
  document.addEventListener("submit", function (event) {
    const form = event.target.closest("[data-list-state]");
    if (!form) return;
    const input = form.querySelector("[data-current-state]");
    if (input) input.value = window.location.search;
  });

  function init() {
    document.querySelectorAll("[data-chart-form]").forEach(syncChartForm);
    drawCharts();
  }
  document.addEventListener("DOMContentLoaded", init);
  document.addEventListener("htmx:afterSettle", init);
  window.addEventListener("pageshow", function (event) { if (event.persisted) { drawnFor = null; init(); } });
})();
