// Compare page: wires the chart pickers to StudioCharts and keeps the choices in the URL.
(function () {
  "use strict";

  // Keep a choice in the query string (replaceState: a link to share, no history entry per click).
  function remember(name, value) {
    const current = new URLSearchParams(location.search);
    if (value === null || value === "" || value === false) current.delete(name);
    else current.set(name, value === true ? "1" : value);
    const query = current.toString().replace(/%2C/g, ",");
    history.replaceState(history.state, "", location.pathname + (query ? "?" + query : ""));
    const copy = document.getElementById("compare-copy-link");
    if (copy) copy.dataset.copy = location.pathname + location.search;
  }

  // "Only differences": a class on the table; the server renders the same from ?diff=1.
  const onlyDiff = document.getElementById("compare-only-diff");
  if (onlyDiff) {
    onlyDiff.addEventListener("change", function () {
      document.querySelector(".compare-table").classList.toggle("only-diff", onlyDiff.checked);
      remember("diff", onlyDiff.checked);
    });
  }

  const root = document.querySelector(".compare-charts");
  const valuesScript = document.getElementById("compare-values");
  if (!root || !valuesScript || !window.StudioCharts) return;
  const values = JSON.parse(valuesScript.textContent);
  const state = JSON.parse(document.getElementById("compare-state").textContent);
  const runIds = values.runs.map(function (r) { return r.runId; });

  function paintSwatches() {
    document.querySelectorAll(".swatch[data-run-index]").forEach(function (el) {
      el.style.background = StudioCharts.colour(Number(el.dataset.runIndex));
    });
  }
  paintSwatches();
  StudioCharts.onThemeChange(paintSwatches);

  // Select `value` when the select offers it; otherwise keep the default.
  function choose(select, value) {
    if (!select || !value) return false;
    const option = Array.from(select.options).find(function (o) { return o.value === value; });
    if (option) select.value = value;
    return Boolean(option);
  }

  function firstOther(select, avoid) {
    const option = Array.from(select.options).find(function (o) { return o.value !== avoid; });
    return option ? option.value : select.value;
  }

  // -- line chart: fetched per metric, downsampled on the server ----------------------

  const lineMetric = document.getElementById("line-metric");
  const linePlot = document.getElementById("line-plot");
  const lineLog = document.getElementById("line-log");
  const lineSmooth = document.getElementById("line-smooth");
  const lineSmoothValue = document.getElementById("line-smooth-value");
  let lineChart = null;
  let lineRequest = null;

  let zoom = null;

  function lineSpec() {
    return {
      type: "line",
      metric: lineMetric.value,
      logY: lineLog.checked,
      smoothing: Number(lineSmooth.value),
      height: 320,
      zoom: zoom,
      // A dragged range is fetched again: its points, downsampled, instead of the few
      // the whole series left in it.
      onZoom: function (range) { zoom = range; loadLine(); },
    };
  }

  function updateDownloads(metric) {
    const template = root.dataset.metricCsv;
    const path = metric.split("/").map(encodeURIComponent).join("/");
    document.querySelectorAll("#line-downloads a[data-run-id]").forEach(function (a) {
      const at = template.lastIndexOf("RUN_ID");
      let url = template.slice(0, at) + encodeURIComponent(a.dataset.runId) + template.slice(at + "RUN_ID".length);
      const m = url.lastIndexOf("METRIC");
      url = url.slice(0, m) + path + url.slice(m + "METRIC".length);
      a.href = url;
      a.title = metric + " of " + a.textContent + " (every point)";
    });
  }

  function loadLine() {
    const metric = lineMetric.value;
    updateDownloads(metric);
    // Two points a pixel column is all minmax downsampling can use; the server caps at 2,000 by default.
    const points = Math.min(2000, Math.max(200, Math.round(linePlot.clientWidth * 2)));
    let url = root.dataset.seriesUrl + "?runs=" + runIds.join(",") + "&metric=" + encodeURIComponent(metric) + "&points=" + points;
    if (zoom) url += "&start=" + zoom.min + "&end=" + zoom.max;
    if (lineRequest) lineRequest.abort();
    lineRequest = new AbortController();
    linePlot.setAttribute("aria-busy", "true");
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" }, signal: lineRequest.signal })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) throw new Error(body.error ? body.error.message : "HTTP " + response.status);
          return body;
        });
      })
      .then(function (data) {
        linePlot.removeAttribute("aria-busy");
        lineChart = StudioCharts.render(linePlot, lineSpec(), data);
      })
      .catch(function (err) {
        if (err.name === "AbortError") return;
        linePlot.removeAttribute("aria-busy");
        if (lineChart) { lineChart.destroy(); lineChart = null; }
        linePlot.textContent = "";
        const div = document.createElement("div");
        div.className = "chart-message";
        div.textContent = "Could not load " + metric + ": " + err.message;
        linePlot.appendChild(div);
      });
  }

  if (lineMetric) {
    choose(lineMetric, state.metric);
    lineLog.checked = state.log === "1";
    const smooth = Number(state.smooth);
    if (smooth >= 0 && smooth < 1) lineSmooth.value = String(smooth);
    lineSmoothValue.textContent = lineSmooth.value;
    lineMetric.addEventListener("change", function () {
      remember("metric", lineMetric.value);
      zoom = null;
      loadLine();
    });
    lineLog.addEventListener("change", function () {
      remember("log", lineLog.checked);
      if (lineChart) lineChart.update(null, { logY: lineLog.checked });
    });
    let frame = 0;
    lineSmooth.addEventListener("input", function () {
      lineSmoothValue.textContent = lineSmooth.value;
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(function () {
        if (lineChart) lineChart.update(null, { smoothing: Number(lineSmooth.value) });
      });
    });
    lineSmooth.addEventListener("change", function () {
      remember("smooth", lineSmooth.value === "0" ? null : lineSmooth.value);
    });
    loadLine();
  }

  // -- value charts: drawn from the values embedded in the page -----------------------

  const barField = document.getElementById("bar-field");
  if (barField) {
    choose(barField, state.bar);
    const bar = StudioCharts.render(document.getElementById("bar-plot"), { type: "bar", field: barField.value }, values);
    barField.addEventListener("change", function () {
      remember("bar", barField.value);
      bar.update(null, { field: barField.value });
    });
  }

  const scatterX = document.getElementById("scatter-x");
  const scatterY = document.getElementById("scatter-y");
  if (scatterX && scatterY) {
    const logX = document.getElementById("scatter-logx");
    const logY = document.getElementById("scatter-logy");
    // Default: the first property against the first metric, when there are both.
    const firstMetric = Array.from(scatterY.options).find(function (o) { return o.value.indexOf("metrics.") === 0; });
    if (!choose(scatterY, state.y) && firstMetric) scatterY.value = firstMetric.value;
    if (!choose(scatterX, state.x)) scatterX.value = firstOther(scatterX, scatterY.value);
    logX.checked = state.logx === "1";
    logY.checked = state.logy === "1";
    const scatterSpec = function () {
      return { type: "scatter", x: scatterX.value, y: scatterY.value, logX: logX.checked, logY: logY.checked, height: 300 };
    };
    const scatter = StudioCharts.render(document.getElementById("scatter-plot"), scatterSpec(), values);
    [[scatterX, "x"], [scatterY, "y"], [logX, "logx"], [logY, "logy"]].forEach(function (pair) {
      pair[0].addEventListener("change", function () {
        remember(pair[1], pair[0].type === "checkbox" ? pair[0].checked : pair[0].value);
        scatter.update(null, scatterSpec());
      });
    });
  }

  const dimsBox = document.getElementById("parallel-dims");
  const colourBy = document.getElementById("parallel-color");
  if (dimsBox && colourBy) {
    const boxes = Array.from(dimsBox.querySelectorAll("input[type=checkbox]"));
    const wanted = (state.dims || "").split(",").filter(Boolean);
    if (wanted.length) {
      boxes.forEach(function (b) { b.checked = wanted.indexOf(b.value) >= 0; });
    }
    if (!boxes.some(function (b) { return b.checked; })) {
      // Default: up to five properties (the sweep's knobs), then up to three metrics.
      boxes.filter(function (b) { return b.value.indexOf("properties.") === 0; }).slice(0, 5)
        .forEach(function (b) { b.checked = true; });
      boxes.filter(function (b) { return b.value.indexOf("metrics.") === 0; }).slice(0, 3)
        .forEach(function (b) { b.checked = true; });
    }
    const firstMetric = Array.from(colourBy.options).find(function (o) { return o.value.indexOf("metrics.") === 0; });
    if (!choose(colourBy, state.color) && firstMetric) colourBy.value = firstMetric.value;
    const count = document.getElementById("parallel-dims-count");
    const chosen = function () {
      return boxes.filter(function (b) { return b.checked; }).map(function (b) { return b.value; });
    };
    const parallelSpec = function () {
      const dims = chosen();
      count.textContent = dims.length + " of " + boxes.length;
      return { type: "parallel", dimensions: dims, color: colourBy.value, height: 340 };
    };
    const parallel = StudioCharts.render(document.getElementById("parallel-plot"), parallelSpec(), values);
    // The axes menu closes on a click elsewhere or Escape, like a select.
    const menu = dimsBox.closest("details");
    document.addEventListener("click", function (event) {
      if (menu.open && !menu.contains(event.target)) menu.open = false;
    });
    menu.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { menu.open = false; menu.querySelector("summary").focus(); }
    });
    dimsBox.addEventListener("change", function () {
      remember("dims", chosen().join(","));
      parallel.update(null, parallelSpec());
    });
    colourBy.addEventListener("change", function () {
      remember("color", colourBy.value);
      parallel.update(null, parallelSpec());
    });
  }
})();
