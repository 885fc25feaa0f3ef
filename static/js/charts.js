// StudioCharts: charts of run history. Plain JavaScript, no build step, no framework.
//
// Line charts use the vendored uPlot (load static/vendor/uplot-1.6.32/uPlot.iife.min.js
// and uPlot.min.css first); bar, scatter and parallel-coordinates charts are SVG drawn
// here. Colours come from CSS variables (static/css/charts.css), so light and dark mode
// follow prefers-color-scheme; charts redraw themselves when the scheme or their
// element's width changes.
//
// API
//
//   const chart = StudioCharts.render(element, spec, data);
//   chart.update(data)            new data, same spec
//   chart.update(null, {logY: true})  same data, spec changes merged in
//   chart.destroy()
//
//   spec.type      data (the shapes of the studio's chart endpoints)
//   "line"         /w/<ws>/charts/series.json: {runs: [{runId, displayName, steps, values}]}
//                  spec: {metric, logY, smoothing (0..0.99, EMA), height,
//                         onZoom(range|null): called with {min, max} steps when a range is
//                         dragged (fetch it in detail, then update(data, {zoom: range})),
//                         and with null on a double click while spec.zoom is set}
//   "bar"          /w/<ws>/charts/values.json: {runs: [{runId, displayName, metrics, properties}]}
//                  spec: {field: "metrics.acc"}
//   "scatter"      values.json; spec: {x: "properties.lr", y: "metrics.acc", logX, logY, height}
//   "parallel"     values.json; spec: {dimensions: ["properties.lr", ..., "metrics.acc"],
//                  color: "metrics.acc", height}
//
//   Every spec may carry `colours` ({runId: css colour}) or `colourIndex` ({runId: i}:
//   the palette's i-th colour, for runs left out of data.runs); otherwise a run's colour
//   is StudioCharts.colour(i), i its position in data.runs, so the same run order gives
//   the same colours in every chart (and in swatches drawn with the same function).
//
//   Helpers: StudioCharts.colour(i), StudioCharts.ema(values, weight),
//   StudioCharts.fieldValue(run, field), StudioCharts.formatValue(v),
//   StudioCharts.onThemeChange(callback).
(function (global) {
  "use strict";

  const SVG_NS = "http://www.w3.org/2000/svg";
  const charts = new Set();
  const themeListeners = [];

  // -- colours --------------------------------------------------------------------------

  // Fallbacks when static/css/charts.css is not loaded; the CSS variables win.
  const PALETTE_LIGHT = ["#2563eb", "#e8590c", "#2b8a3e", "#c2255c", "#7048e8",
    "#0b7285", "#b7791f", "#5c7cfa", "#d6336c", "#495057"];
  const PALETTE_DARK = ["#5b9bff", "#ff922b", "#51cf66", "#f06595", "#9775fa",
    "#3bc9db", "#fcc419", "#91a7ff", "#faa2c1", "#ced4da"];
  const SEQUENTIAL_LIGHT = ["#3b0f70", "#8c2981", "#de4968", "#f66e5b", "#fca636"];
  const SEQUENTIAL_DARK = ["#6a51a3", "#b63679", "#f1605d", "#feaf77", "#fcfdbf"];

  function isDark() {
    return global.matchMedia && global.matchMedia("(prefers-color-scheme: dark)").matches;
  }

  function cssVar(name, fallback) {
    const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  function theme() {
    const dark = isDark();
    const palette = [];
    const fallback = dark ? PALETTE_DARK : PALETTE_LIGHT;
    for (let i = 0; i < fallback.length; i++) palette.push(cssVar("--chart-" + (i + 1), fallback[i]));
    const sequential = [];
    const seqFallback = dark ? SEQUENTIAL_DARK : SEQUENTIAL_LIGHT;
    for (let i = 0; i < seqFallback.length; i++) sequential.push(cssVar("--chart-seq-" + (i + 1), seqFallback[i]));
    return {
      dark: dark,
      palette: palette,
      sequential: sequential,
      bg: cssVar("--bg", dark ? "#0f1318" : "#ffffff"),
      text: cssVar("--text", dark ? "#e2e6ec" : "#1c2330"),
      muted: cssVar("--text-muted", dark ? "#9aa5b3" : "#5f6b7a"),
      faint: cssVar("--text-faint", dark ? "#6e7886" : "#8a95a3"),
      grid: cssVar("--border", dark ? "#2a313c" : "#dfe3e8"),
      axis: cssVar("--border-strong", dark ? "#3a4350" : "#c5ccd5"),
      font: cssVar("--font", "system-ui, sans-serif"),
    };
  }

  // Beyond the palette, hues step by the golden angle: neighbours stay apart for 100 runs.
  function colour(index, th) {
    th = th || theme();
    if (index < th.palette.length) return th.palette[index];
    const hue = Math.round((index * 137.508 + 20) % 360);
    return "hsl(" + hue + " " + (th.dark ? "70% 66%" : "65% 42%") + ")";
  }

  function runColour(spec, run, index, th) {
    if (spec.colours && spec.colours[run.runId]) return spec.colours[run.runId];
    const at = spec.colourIndex && spec.colourIndex[run.runId];
    return colour(at === undefined ? index : at, th);
  }

  function hexToRgb(hex) {
    const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex.trim());
    return m ? [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16)] : null;
  }

  // t in [0, 1] along the sequential scale (the colour of a parallel-coordinates line).
  function sequentialColour(t, th) {
    const stops = th.sequential.map(hexToRgb);
    if (stops.some(function (s) { return s === null; })) return th.sequential[Math.round(t * (th.sequential.length - 1))];
    const x = Math.min(1, Math.max(0, t)) * (stops.length - 1);
    const i = Math.min(stops.length - 2, Math.floor(x));
    const f = x - i;
    const c = [0, 1, 2].map(function (k) { return Math.round(stops[i][k] + (stops[i + 1][k] - stops[i][k]) * f); });
    return "rgb(" + c.join(",") + ")";
  }

  // -- numbers ----------------------------------------------------------------------------

  function formatValue(value) {
    if (value === null || value === undefined || Number.isNaN(value)) return "—";
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

  // One unit for a whole axis: 8000 and 10k side by side read as a jump.
  function formatTicks(ticks) {
    const max = Math.max.apply(null, ticks.map(function (t) { return Math.abs(t); }));
    if (max >= 1e4 && max < 1e7) {
      return ticks.map(function (t) { return t === 0 ? "0" : Number((t / 1e3).toPrecision(4)) + "k"; });
    }
    return ticks.map(formatTick);
  }

  function niceStep(span, count) {
    const raw = span / Math.max(1, count);
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    const f = raw / power;
    return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * power;
  }

  // A domain padded to round numbers, and the ticks inside it.
  function linearDomain(min, max, count) {
    if (min === max) {
      const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
      min -= pad;
      max += pad;
    }
    const step = niceStep(max - min, count || 5);
    const lo = Math.floor(min / step) * step;
    const hi = Math.ceil(max / step) * step;
    const ticks = [];
    for (let v = lo; v <= hi + step / 2; v += step) ticks.push(Number(v.toPrecision(12)));
    return { min: lo, max: hi, ticks: ticks, log: false };
  }

  function logDomain(min, max) {
    let lo = Math.floor(Math.log10(min));
    let hi = Math.ceil(Math.log10(max));
    if (lo === hi) { lo -= 1; hi += 1; }
    const ticks = [];
    const every = Math.max(1, Math.ceil((hi - lo) / 6));
    for (let e = lo; e <= hi; e += every) ticks.push(Math.pow(10, e));
    return { min: Math.pow(10, lo), max: Math.pow(10, hi), ticks: ticks, log: true };
  }

  function scale(domain, r0, r1) {
    if (domain.log) {
      const a = Math.log10(domain.min);
      const b = Math.log10(domain.max);
      return function (v) { return r0 + (Math.log10(v) - a) / (b - a) * (r1 - r0); };
    }
    return function (v) { return r0 + (v - domain.min) / (domain.max - domain.min) * (r1 - r0); };
  }

  function finite(v) { return typeof v === "number" && Number.isFinite(v); }

  // -- data helpers ---------------------------------------------------------------------

  // "metrics.acc" -> run.metrics.acc; "properties.lr" -> run.properties.lr (numbers only).
  function fieldValue(run, field) {
    const dot = field.indexOf(".");
    const group = field.slice(0, dot);
    const key = field.slice(dot + 1);
    const bag = group === "metrics" ? run.metrics : group === "properties" ? run.properties : null;
    const value = bag ? bag[key] : undefined;
    return finite(value) ? value : null;
  }

  function fieldLabel(field) {
    const dot = field.indexOf(".");
    return { kind: field.slice(0, dot) === "metrics" ? "metric" : "property", key: field.slice(dot + 1) };
  }

  // Exponential moving average, debiased as TensorBoard does so the start is not pulled to 0.
  // Gaps (null) stay gaps and do not reset the average.
  function ema(values, weight) {
    if (!(weight > 0)) return values.slice();
    const out = new Array(values.length);
    let last = 0;
    let debias = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (!finite(v)) { out[i] = null; continue; }
      last = last * weight + (1 - weight) * v;
      debias = debias * weight + (1 - weight);
      out[i] = last / debias;
    }
    return out;
  }

  function runName(run) { return run.displayName || run.runId; }

  // -- DOM helpers ----------------------------------------------------------------------

  function svgEl(tag, attrs, parent) {
    const el = document.createElementNS(SVG_NS, tag);
    for (const k in attrs) if (attrs[k] !== undefined && attrs[k] !== null) el.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(el);
    return el;
  }

  function text(parent, x, y, content, attrs) {
    const t = svgEl("text", Object.assign({ x: x, y: y }, attrs || {}), parent);
    t.textContent = content;
    return t;
  }

  function message(el, content) {
    const div = document.createElement("div");
    div.className = "chart-message";
    div.textContent = content;
    el.appendChild(div);
    return div;
  }

  function tooltip(el) {
    let tip = el.querySelector(":scope > .chart-tooltip");
    if (!tip) {
      tip = document.createElement("div");
      tip.className = "chart-tooltip";
      tip.setAttribute("role", "status");
      tip.hidden = true;
      el.appendChild(tip);
    }
    return {
      show: function (event, lines) {
        tip.textContent = "";
        lines.forEach(function (line, i) {
          const row = document.createElement("div");
          if (i === 0) row.className = "chart-tooltip-title";
          if (Array.isArray(line)) {
            const k = document.createElement("span");
            k.className = "chart-tooltip-key";
            k.textContent = line[0];
            row.appendChild(k);
            row.appendChild(document.createTextNode(" " + line[1]));
          } else {
            row.textContent = line;
          }
          tip.appendChild(row);
        });
        tip.hidden = false;
        const box = el.getBoundingClientRect();
        let x = event.clientX - box.left + 14;
        let y = event.clientY - box.top + 14;
        if (x + tip.offsetWidth > el.clientWidth) x = Math.max(0, event.clientX - box.left - tip.offsetWidth - 14);
        if (y + tip.offsetHeight > el.clientHeight) y = Math.max(0, event.clientY - box.top - tip.offsetHeight - 14);
        tip.style.left = x + "px";
        tip.style.top = y + "px";
      },
      hide: function () { tip.hidden = true; },
    };
  }

  function newSvg(el, width, height, label) {
    return svgEl("svg", {
      class: "chart-svg", width: width, height: height, viewBox: "0 0 " + width + " " + height,
      role: "img", "aria-label": label,
    }, el);
  }

  function clipText(content, max) {
    return content.length > max ? content.slice(0, max - 1) + "…" : content;
  }

  // Shorten an SVG text (already in the page) until it is at most `width` pixels wide;
  // the full text stays in its title.
  function fitText(t, width) {
    const full = t.textContent;
    if (!t.getComputedTextLength || t.getComputedTextLength() <= width) return t;
    let keep = full.length;
    while (keep > 1 && t.getComputedTextLength() > width) {
      keep = Math.max(1, Math.floor(keep * Math.min(0.95, width / t.getComputedTextLength())));
      t.textContent = full.slice(0, keep) + "…";
    }
    svgEl("title", {}, t).textContent = full;
    return t;
  }

  // -- line: a metric over steps, one line per run (uPlot) --------------------------------

  function drawLine(el, spec, data, th) {
    if (typeof global.uPlot === "undefined") return message(el, "The chart library did not load.");
    const runs = data.runs || [];
    if (!runs.some(function (r) { return r.steps.length; })) {
      return message(el, "No points" + (spec.metric ? " of " + spec.metric : "") + " on these runs.");
    }
    const smoothing = Math.min(0.999, Math.max(0, Number(spec.smoothing) || 0));
    let hidden = 0;
    const prepared = runs.map(function (r) {
      let values = smoothing > 0 ? ema(r.values, smoothing) : r.values.slice();
      if (spec.logY) {
        values = values.map(function (v) {
          if (v !== null && v <= 0) { hidden++; return null; }
          return v;
        });
      }
      return { steps: r.steps, values: values, raw: r.values };
    });
    const joined = global.uPlot.join(prepared.map(function (p) { return [p.steps, p.values]; }));
    const colours = runs.map(function (r, i) { return runColour(spec, r, i, th); });

    // The legend shows each run's point nearest the cursor's step: runs log different steps,
    // so most runs have no point at exactly the hovered one.
    function nearest(p, x) {
      const s = p.steps;
      if (!s.length || x < s[0] || x > s[s.length - 1]) return null;
      let lo = 0;
      let hi = s.length - 1;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (s[mid] < x) lo = mid; else hi = mid;
      }
      return x - s[lo] <= s[hi] - x ? lo : hi;
    }
    function lastValue(p) {
      for (let i = p.values.length - 1; i >= 0; i--) if (p.values[i] !== null) return p.values[i];
      return null;
    }

    const axis = {
      stroke: th.muted,
      font: "11px " + th.font,
      grid: { stroke: th.grid, width: 1 },
      ticks: { stroke: th.grid, width: 1, size: 4 },
    };
    const series = [{ label: "step", value: function (u, v) { return v === null || v === undefined ? "—" : String(v); } }];
    runs.forEach(function (r, i) {
      const p = prepared[i];
      series.push({
        label: runName(r),
        stroke: colours[i],
        width: 1.5,
        spanGaps: false,
        value: function (u, v, sidx, idx) {
          if (!p.steps.length) return "no points";
          if (idx === null || idx === undefined) return formatValue(lastValue(p));
          const j = nearest(p, u.data[0][idx]);
          return j === null ? "—" : formatValue(p.values[j]);
        },
      });
    });
    const wrap = document.createElement("div");
    wrap.className = "chart-uplot";
    el.appendChild(wrap);
    const width = Math.max(el.clientWidth, 240);
    const opts = {
      width: width,
      height: spec.height || 300,
      legend: { live: true },
      focus: { alpha: 0.35 },
      cursor: {
        drag: { x: true, y: false },
        points: { size: 7 },
        focus: { prox: 24 },
        bind: {
          // Zoomed with data fetched for the range: a double click asks for the whole
          // series again (uPlot alone would only fit the zoomed data).
          dblclick: function (u, target, handler) {
            return function (event) {
              if (spec.zoom && spec.onZoom) spec.onZoom(null);
              else handler(event);
            };
          },
        },
      },
      scales: { x: { time: false }, y: spec.logY ? { distr: 3, log: 10 } : {} },
      axes: [
        Object.assign({}, axis, { size: 30, values: function (u, ticks) { return formatTicks(ticks); } }),
        Object.assign({}, axis, { size: 56, values: function (u, ticks) { return formatTicks(ticks); } }),
      ],
      series: series,
      hooks: {
        // A dragged range goes to spec.onZoom, which may fetch that range in detail.
        setSelect: [function (u) {
          if (!spec.onZoom || u.select.width < 2) return;
          const min = u.posToVal(u.select.left, "x");
          const max = u.posToVal(u.select.left + u.select.width, "x");
          spec.onZoom({ min: Math.floor(min), max: Math.ceil(max) });
        }],
        // With smoothing, the raw lines are drawn faintly under the smoothed ones.
        drawAxes: [function (u) {
          if (!(smoothing > 0)) return;
          const ctx = u.ctx;
          ctx.save();
          ctx.beginPath();
          ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
          ctx.clip();
          ctx.globalAlpha = 0.22;
          ctx.lineWidth = global.devicePixelRatio || 1;
          prepared.forEach(function (p, i) {
            if (!u.series[i + 1].show) return;
            ctx.strokeStyle = colours[i];
            ctx.beginPath();
            let pen = false;
            for (let k = 0; k < p.steps.length; k++) {
              const v = p.raw[k];
              if (v === null || (spec.logY && v <= 0)) { pen = false; continue; }
              const x = u.valToPos(p.steps[k], "x", true);
              const y = u.valToPos(v, "y", true);
              if (pen) ctx.lineTo(x, y); else ctx.moveTo(x, y);
              pen = true;
            }
            ctx.stroke();
          });
          ctx.restore();
        }],
      },
    };
    const plot = new global.uPlot(opts, joined, wrap);
    // uPlot draws legend markers as outlines unless a series has a fill: fill them.
    plot.root.querySelectorAll(".u-legend .u-series").forEach(function (row, i) {
      const marker = row.querySelector(".u-marker");
      if (i > 0 && marker) marker.style.background = colours[i - 1];
    });
    if (spec.zoom) {
      message(el, "Steps " + spec.zoom.min + " to " + spec.zoom.max + ": double-click the chart for all steps.")
        .classList.add("chart-note", "chart-zoom-note");
    }
    if (hidden) {
      message(el, hidden + " value" + (hidden === 1 ? "" : "s") + " ≤ 0 left out on the log scale.")
        .classList.add("chart-note");
    }
    return {
      resize: function () { plot.setSize({ width: Math.max(el.clientWidth, 240), height: spec.height || 300 }); },
      destroy: function () { plot.destroy(); },
      plot: plot,
    };
  }

  // -- bar: a latest value across runs (SVG, one horizontal bar per run) ----------------

  function drawBar(el, spec, data, th) {
    const runs = data.runs || [];
    const rows = runs.map(function (r, i) {
      return { run: r, value: fieldValue(r, spec.field), colour: runColour(spec, r, i, th) };
    });
    const known = rows.filter(function (r) { return r.value !== null; });
    if (!known.length) return message(el, "No run has a value of " + fieldLabel(spec.field).key + ".");
    const width = Math.max(el.clientWidth, 240);
    // Few runs get taller bars, so the chart does not sit in a corner of its card.
    const rowH = Math.max(20, Math.min(34, Math.floor(240 / Math.max(1, rows.length))));
    const top = 8;
    const bottom = 26;
    const labelW = Math.min(200, Math.round(width * 0.32));
    const height = top + rows.length * rowH + bottom;
    const values = known.map(function (r) { return r.value; });
    const domain = linearDomain(Math.min(0, Math.min.apply(null, values)), Math.max(0, Math.max.apply(null, values)), 5);
    const x = scale(domain, labelW + 8, width - 56);
    const svg = newSvg(el, width, height, "Bar chart of " + spec.field);
    const tip = tooltip(el);
    const labels = formatTicks(domain.ticks);
    domain.ticks.forEach(function (t, k) {
      const px = x(t);
      svgEl("line", { x1: px, x2: px, y1: top, y2: height - bottom, stroke: t === 0 ? th.axis : th.grid }, svg);
      text(svg, px, height - bottom + 16, labels[k], { class: "chart-tick", "text-anchor": "middle", fill: th.muted });
    });
    rows.forEach(function (row, i) {
      const y = top + i * rowH;
      const name = runName(row.run);
      fitText(text(svg, labelW, y + rowH / 2 + 4, clipText(name, Math.floor(labelW / 5)), {
        class: "chart-label", "text-anchor": "end", fill: th.text,
      }), labelW - 4);
      if (row.value === null) {
        text(svg, x(0) + 4, y + rowH / 2 + 4, "no value", { class: "chart-tick", fill: th.faint });
        return;
      }
      const x0 = x(0);
      const x1 = x(row.value);
      const barH = Math.min(rowH - 8, 20);
      const bar = svgEl("rect", {
        class: "chart-bar", x: Math.min(x0, x1), y: y + (rowH - barH) / 2, width: Math.max(1, Math.abs(x1 - x0)),
        height: barH, rx: 2, fill: row.colour,
      }, svg);
      text(svg, row.value >= 0 ? x1 + 4 : x1 - 4, y + rowH / 2 + 4, formatValue(row.value), {
        class: "chart-tick", "text-anchor": row.value >= 0 ? "start" : "end", fill: th.muted,
      });
      bar.addEventListener("mousemove", function (event) {
        tip.show(event, [name, [fieldLabel(spec.field).key, formatValue(row.value)], row.run.runId]);
      });
      bar.addEventListener("mouseleave", tip.hide);
    });
    return {};
  }

  // -- scatter: one field against another, a point per run (SVG) ---------------------

  function axisDomain(values, log) {
    const min = Math.min.apply(null, values);
    const max = Math.max.apply(null, values);
    if (log && min > 0) return logDomain(min, max);
    return linearDomain(min, max, 5);
  }

  function drawScatter(el, spec, data, th) {
    const runs = data.runs || [];
    const points = [];
    runs.forEach(function (r, i) {
      const xv = fieldValue(r, spec.x);
      const yv = fieldValue(r, spec.y);
      if (xv !== null && yv !== null) points.push({ run: r, x: xv, y: yv, colour: runColour(spec, r, i, th) });
    });
    if (!points.length) {
      return message(el, "No run has both " + fieldLabel(spec.x).key + " and " + fieldLabel(spec.y).key + ".");
    }
    const width = Math.max(el.clientWidth, 240);
    const height = spec.height || 300;
    const m = { left: 60, right: 16, top: 12, bottom: 40 };
    const xd = axisDomain(points.map(function (p) { return p.x; }), spec.logX);
    const yd = axisDomain(points.map(function (p) { return p.y; }), spec.logY);
    const x = scale(xd, m.left, width - m.right);
    const y = scale(yd, height - m.bottom, m.top);
    const svg = newSvg(el, width, height, "Scatter of " + spec.y + " against " + spec.x);
    const tip = tooltip(el);
    const xLabels = formatTicks(xd.ticks);
    const yLabels = formatTicks(yd.ticks);
    xd.ticks.forEach(function (t, k) {
      svgEl("line", { x1: x(t), x2: x(t), y1: m.top, y2: height - m.bottom, stroke: th.grid }, svg);
      text(svg, x(t), height - m.bottom + 15, xLabels[k], { class: "chart-tick", "text-anchor": "middle", fill: th.muted });
    });
    yd.ticks.forEach(function (t, k) {
      svgEl("line", { x1: m.left, x2: width - m.right, y1: y(t), y2: y(t), stroke: th.grid }, svg);
      text(svg, m.left - 6, y(t) + 4, yLabels[k], { class: "chart-tick", "text-anchor": "end", fill: th.muted });
    });
    text(svg, (m.left + width - m.right) / 2, height - 6, fieldLabel(spec.x).key + (xd.log ? " (log)" : ""), {
      class: "chart-axis-label", "text-anchor": "middle", fill: th.text,
    });
    text(svg, 14, (m.top + height - m.bottom) / 2, fieldLabel(spec.y).key + (yd.log ? " (log)" : ""), {
      class: "chart-axis-label", "text-anchor": "middle", fill: th.text,
      transform: "rotate(-90 14 " + (m.top + height - m.bottom) / 2 + ")",
    });
    points.forEach(function (p) {
      const dot = svgEl("circle", {
        class: "chart-dot", cx: x(p.x), cy: y(p.y), r: 5, fill: p.colour, stroke: th.bg, "stroke-width": 1.5,
      }, svg);
      dot.addEventListener("mousemove", function (event) {
        tip.show(event, [runName(p.run), [fieldLabel(spec.x).key, formatValue(p.x)], [fieldLabel(spec.y).key, formatValue(p.y)]]);
      });
      dot.addEventListener("mouseleave", tip.hide);
    });
    const left = runs.length - points.length;
    if (left) message(el, left + " run" + (left === 1 ? " lacks" : "s lack") + " one of the two values.").classList.add("chart-note");
    if ((spec.logX && !xd.log) || (spec.logY && !yd.log)) {
      message(el, "Values ≤ 0: a log axis is not possible, shown linear.").classList.add("chart-note");
    }
    return {};
  }

  // -- parallel coordinates: an axis per dimension, a polyline per run (SVG) -----------

  function drawParallel(el, spec, data, th) {
    const runs = data.runs || [];
    const dims = (spec.dimensions || []).filter(function (f) {
      return runs.some(function (r) { return fieldValue(r, f) !== null; });
    });
    if (dims.length < 2) return message(el, "Choose at least two fields with values to draw axes.");
    const width = Math.max(el.clientWidth, 320);
    const height = spec.height || 320;
    const m = { left: 48, right: 48, top: 40, bottom: 24 };
    const step = (width - m.left - m.right) / (dims.length - 1);
    const axes = dims.map(function (f, k) {
      const values = runs.map(function (r) { return fieldValue(r, f); }).filter(function (v) { return v !== null; });
      const domain = linearDomain(Math.min.apply(null, values), Math.max.apply(null, values), 4);
      return { field: f, x: m.left + k * step, domain: domain, y: scale(domain, height - m.bottom, m.top) };
    });
    let colourOf = function () { return th.muted; };
    let colourDomain = null;
    if (spec.color) {
      const cv = runs.map(function (r) { return fieldValue(r, spec.color); }).filter(function (v) { return v !== null; });
      if (cv.length) {
        const lo = Math.min.apply(null, cv);
        const hi = Math.max.apply(null, cv);
        colourDomain = [lo, hi];
        colourOf = function (run) {
          const v = fieldValue(run, spec.color);
          if (v === null) return th.faint;
          return sequentialColour(hi === lo ? 0.5 : (v - lo) / (hi - lo), th);
        };
      }
    }
    const svg = newSvg(el, width, height, "Parallel coordinates of " + dims.join(", "));
    const tip = tooltip(el);
    const lines = svgEl("g", { class: "chart-lines" }, svg);
    // Drawn after the axes (appended below), so the pointer reaches the lines over them.
    const hits = svgEl("g", { class: "chart-hits" });
    runs.forEach(function (r) {
      let d = "";
      let pen = false;
      axes.forEach(function (a) {
        const v = fieldValue(r, a.field);
        if (v === null) { pen = false; return; }
        d += (pen ? "L" : "M") + a.x.toFixed(1) + " " + a.y(v).toFixed(1);
        pen = true;
      });
      if (!d) return;
      const path = svgEl("path", { class: "chart-pc-line", d: d, stroke: colourOf(r), fill: "none" }, lines);
      // A wide transparent twin takes the pointer: a 1.6 px line is hard to hit.
      const hit = svgEl("path", { class: "chart-pc-hit", d: d, stroke: "transparent", fill: "none" }, hits);
      hit.addEventListener("mousemove", function (event) {
        lines.classList.add("has-focus");
        path.classList.add("focused");
        const rows = [runName(r)];
        axes.forEach(function (a) { rows.push([fieldLabel(a.field).key, formatValue(fieldValue(r, a.field))]); });
        if (spec.color && dims.indexOf(spec.color) < 0) rows.push([fieldLabel(spec.color).key, formatValue(fieldValue(r, spec.color))]);
        tip.show(event, rows);
      });
      hit.addEventListener("mouseleave", function () {
        lines.classList.remove("has-focus");
        path.classList.remove("focused");
        tip.hide();
      });
    });
    axes.forEach(function (a, k) {
      const g = svgEl("g", { class: "chart-pc-axis" }, svg);
      svgEl("line", { x1: a.x, x2: a.x, y1: m.top, y2: height - m.bottom, stroke: th.axis, "stroke-width": 1.5 }, g);
      const anchor = k === axes.length - 1 ? "end" : k === 0 ? "start" : "middle";
      const labels = formatTicks(a.domain.ticks);
      a.domain.ticks.forEach(function (t, j) {
        const ty = a.y(t);
        svgEl("line", { x1: a.x - 3, x2: a.x + 3, y1: ty, y2: ty, stroke: th.axis }, g);
        text(g, k === axes.length - 1 ? a.x - 6 : a.x + 6, ty + 4, labels[j], {
          class: "chart-tick chart-halo", "text-anchor": k === axes.length - 1 ? "end" : "start", fill: th.muted,
          stroke: th.bg,
        });
      });
      const label = fieldLabel(a.field);
      const t = text(g, a.x, 14, clipText(label.key, Math.max(8, Math.floor(step / 7))), {
        class: "chart-axis-label", "text-anchor": anchor, fill: th.text,
      });
      svgEl("title", {}, t).textContent = a.field;
      text(g, a.x, 28, label.kind, { class: "chart-tick", "text-anchor": anchor, fill: th.faint });
    });
    svg.appendChild(hits);
    if (colourDomain) {
      const legend = document.createElement("div");
      legend.className = "chart-colour-legend";
      const stops = [0, 0.25, 0.5, 0.75, 1].map(function (t) { return sequentialColour(t, th); });
      legend.innerHTML = "";
      const name = document.createElement("span");
      name.textContent = "Colour: " + fieldLabel(spec.color).key;
      const lo = document.createElement("span");
      lo.className = "chart-tick";
      lo.textContent = formatValue(colourDomain[0]);
      const bar = document.createElement("span");
      bar.className = "chart-colour-bar";
      bar.style.background = "linear-gradient(to right, " + stops.join(", ") + ")";
      const hi = document.createElement("span");
      hi.className = "chart-tick";
      hi.textContent = formatValue(colourDomain[1]);
      legend.append(name, lo, bar, hi);
      el.insertBefore(legend, svg);
    }
    return {};
  }

  const DRAW = { line: drawLine, bar: drawBar, scatter: drawScatter, parallel: drawParallel };

  // -- the chart handle -----------------------------------------------------------------

  function Chart(el, spec, data) {
    this.el = el;
    this.spec = Object.assign({}, spec);
    this.data = data;
    this.inner = null;
    this.width = 0;
    const self = this;
    if (global.ResizeObserver) {
      this.observer = new global.ResizeObserver(function () {
        const width = el.clientWidth;
        if (width === self.width || !width) return;
        self.width = width;
        if (self.inner && self.inner.resize) self.inner.resize();
        else self.draw();
      });
      this.observer.observe(el);
    }
    this.draw();
  }

  Chart.prototype.draw = function () {
    if (this.inner && this.inner.destroy) this.inner.destroy();
    this.inner = null;
    this.el.textContent = "";
    this.el.classList.add("studio-chart");
    this.el.dataset.chartType = this.spec.type;
    this.width = this.el.clientWidth;
    const draw = DRAW[this.spec.type];
    if (!draw) {
      message(this.el, "Unknown chart type " + JSON.stringify(this.spec.type) + ".");
      return;
    }
    const result = draw(this.el, this.spec, this.data || { runs: [] }, theme());
    this.inner = result && !(result instanceof Node) ? result : null;
  };

  Chart.prototype.update = function (data, specChanges) {
    if (data) this.data = data;
    if (specChanges) Object.assign(this.spec, specChanges);
    this.draw();
    return this;
  };

  Chart.prototype.destroy = function () {
    if (this.inner && this.inner.destroy) this.inner.destroy();
    if (this.observer) this.observer.disconnect();
    this.inner = null;
    this.el.textContent = "";
    charts.delete(this);
    delete this.el._studioChart;
  };

  function render(el, spec, data) {
    if (el._studioChart) el._studioChart.destroy();
    const chart = new Chart(el, spec, data);
    el._studioChart = chart;
    charts.add(chart);
    return chart;
  }

  if (global.matchMedia) {
    const query = global.matchMedia("(prefers-color-scheme: dark)");
    const redraw = function () {
      charts.forEach(function (c) { c.draw(); });
      themeListeners.forEach(function (fn) { fn(); });
    };
    if (query.addEventListener) query.addEventListener("change", redraw);
  }

  global.StudioCharts = {
    render: render,
    colour: function (index) { return colour(index); },
    ema: ema,
    fieldValue: fieldValue,
    formatValue: formatValue,
    onThemeChange: function (fn) { themeListeners.push(fn); },
  };
})(window);
