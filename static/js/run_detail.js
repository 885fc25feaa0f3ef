// Run detail page: metric charts (uPlot), log auto-scroll, messages for refused requests.
(function () {
  "use strict";

  const charts = new Map(); // metric name -> uPlot instance
  let lastData = null;
  let refreshTimer = null;

  function cssVar(name, fallback) {
    const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  function palette() {
    return {
      line: cssVar("--accent", "#2563eb"),
      axis: cssVar("--text-muted", "#5f6b7a"),
      grid: cssVar("--border", "#dfe3e8"),
      font: "11px " + cssVar("--font", "system-ui, sans-serif"),
    };
  }

  function formatValue(value) {
    if (value === null || value === undefined) return "—";
    const abs = Math.abs(value);
    if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) return value.toExponential(3).replace(/\.?0+e/, "e");
    return String(Number(value.toPrecision(6)));
  }

  // Axis ticks: short labels (3e-4, 1.5k) so they fit the gutter.
  function formatTick(value) {
    if (value === null || value === undefined) return "";
    const abs = Math.abs(value);
    if (abs === 0) return "0";
    if (abs < 1e-3 || abs >= 1e7) return value.toExponential(1).replace(/\.0e/, "e");
    if (abs >= 1e4) return Number((value / 1e3).toPrecision(3)) + "k";
    return String(Number(value.toPrecision(4)));
  }

  function options(name, width, colours) {
    const axis = {
      stroke: colours.axis,
      font: colours.font,
      grid: { stroke: colours.grid, width: 1 },
      ticks: { stroke: colours.grid, width: 1, size: 4 },
    };
    return {
      width: width,
      height: 170,
      // The caption shows the hovered point instead of a legend under the plot.
      legend: { show: false },
      hooks: {
        setCursor: [function (u) {
          const caption = u.root.closest(".chart").querySelector(".chart-last");
          const idx = u.cursor.idx;
          if (!caption.dataset.latest) caption.dataset.latest = caption.textContent;
          caption.textContent = idx === null || idx === undefined
            ? caption.dataset.latest
            : "step " + u.data[0][idx] + ": " + formatValue(u.data[1][idx]);
        }],
      },
      cursor: { drag: { x: true, y: false }, points: { size: 6 } },
      scales: { x: { time: false } },
      axes: [
        Object.assign({}, axis, {
          size: 28,
          values: function (u, ticks) { return ticks.map(formatTick); },
        }),
        Object.assign({}, axis, {
          size: 50,
          values: function (u, ticks) { return ticks.map(formatTick); },
        }),
      ],
      series: [
        { label: "step", value: function (u, v) { return v === null ? "—" : String(v); } },
        {
          label: name,
          stroke: colours.line,
          width: 1.5,
          points: { show: false },
          spanGaps: false,
          value: function (u, v) { return formatValue(v); },
        },
      ],
    };
  }

  // `rebuild` recreates the charts (new colours); otherwise live data is swapped in place.
  function draw(data, rebuild) {
    lastData = data;
    const colours = palette();
    document.querySelectorAll(".chart[data-metric]").forEach(function (figure) {
      const name = figure.dataset.metric;
      const plot = figure.querySelector(".chart-plot");
      const series = data[name];
      plot.classList.remove("loading");
      const existing = charts.get(name);
      if (existing && !rebuild && series && series.steps.length) {
        existing.setData([series.steps, series.values]);
        return;
      }
      if (existing) { existing.destroy(); charts.delete(name); }
      plot.textContent = "";
      if (!series || series.steps.length === 0) {
        const empty = document.createElement("div");
        empty.className = "chart-empty";
        empty.textContent = "No points";
        plot.appendChild(empty);
        return;
      }
      const width = Math.max(plot.clientWidth, 200);
      charts.set(name, new uPlot(options(name, width, colours), [series.steps, series.values], plot));
    });
  }

  function load() {
    const container = document.querySelector("[data-metrics-url]");
    if (!container || typeof uPlot === "undefined") return;
    fetch(container.dataset.metricsUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("metrics: HTTP " + response.status);
        return response.json();
      })
      .then(function (data) { draw(data, false); })
      .catch(function () {
        document.querySelectorAll(".chart-plot.loading").forEach(function (plot) {
          plot.classList.remove("loading");
          plot.textContent = "Could not load the series.";
        });
      });
  }

  function runIsLive() {
    const badge = document.getElementById("run-status");
    return badge && badge.dataset.terminal === "false";
  }

  // Live runs keep logging: redraw every 10 s while the run is not terminal.
  function scheduleRefresh() {
    clearTimeout(refreshTimer);
    if (!runIsLive()) return;
    refreshTimer = setTimeout(function () {
      if (!document.hidden) load();
      scheduleRefresh();
    }, 10000);
  }

  function resize() {
    charts.forEach(function (chart, name) {
      const figure = document.querySelector('.chart[data-metric="' + CSS.escape(name) + '"] .chart-plot');
      if (figure) chart.setSize({ width: Math.max(figure.clientWidth, 200), height: 170 });
    });
  }

  function init() {
    document.querySelectorAll(".chart-plot").forEach(function (plot) { plot.classList.add("loading"); });
    load();
    scheduleRefresh();
    let resizeTimer = null;
    window.addEventListener("resize", function () {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(resize, 120);
    });
    // Colours are read from CSS variables: redraw when the scheme flips.
    const scheme = window.matchMedia("(prefers-color-scheme: dark)");
    scheme.addEventListener("change", function () { if (lastData) draw(lastData, true); });
  }

  // A status change (cancel, finish) refreshes the charts once and re-arms the timer.
  document.addEventListener("runChanged", function () { load(); scheduleRefresh(); });

  // Logs: keep following the end if the reader was already there.
  document.addEventListener("htmx:beforeSwap", function (event) {
    const target = event.detail.target;
    if (target && target.classList && target.classList.contains("log-text")) {
      target.dataset.follow = target.scrollHeight - target.scrollTop - target.clientHeight < 24 ? "1" : "";
    }
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    const target = event.detail.target;
    if (target && target.classList && target.classList.contains("log-text") && target.dataset.follow === "1") {
      target.scrollTop = target.scrollHeight;
    }
  });

  // Refused requests (403, 404, 409) do not swap: say why instead of failing silently.
  document.addEventListener("htmx:responseError", function (event) {
    const xhr = event.detail.xhr;
    if (xhr.getResponseHeader("HX-Trigger")) return; // the server sent its own toast
    const type = xhr.getResponseHeader("Content-Type") || "";
    let message = "The request failed (HTTP " + xhr.status + ").";
    if (type.indexOf("text/plain") === 0 && xhr.responseText.length < 300) message = xhr.responseText;
    else if (xhr.status === 404) message = "Not found: the run or workspace is gone, or you are no longer a member.";
    if (window.studioToast) window.studioToast(message);
  });
  document.addEventListener("htmx:sendError", function () {
    if (window.studioToast) window.studioToast("The studio did not answer; check your connection.");
  });

  // Start every log scrolled to its end.
  function scrollLogs() {
    document.querySelectorAll(".log-text").forEach(function (pre) { pre.scrollTop = pre.scrollHeight; });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { init(); scrollLogs(); });
  } else {
    init();
    scrollLogs();
  }
})();
