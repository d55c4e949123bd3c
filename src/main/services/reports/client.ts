/**
 * The script inlined into an HTML report, as plain ES2017 source (it runs in whatever browser
 * opens the report years from now, with no build step). It reads the chart specs from the
 * `application/json` block, draws them with Chart.js (and the zoom plugin when inlined), wires
 * the reset-zoom buttons, and opens every folded section before printing. It exposes
 * `window.__hmmlabReport = { ready, charts: [{ id, points }] , errors }` for tests.
 */
import { PALETTE } from '../../../shared/palette'
import { formatQuantity, TICK_DIGITS, VALUE_DIGITS } from '../../../shared/units'

export const CLIENT_SCRIPT = String.raw`
(function () {
  'use strict';
  var state = { ready: false, charts: [], errors: [] };
  window.__hmmlabReport = state;
  var dataEl = document.getElementById('report-data');
  var data = JSON.parse(dataEl ? dataEl.textContent : '{"charts":[]}');
  var root = document.documentElement;
  if (typeof window.Chart !== 'function') {
    root.setAttribute('data-charts', 'unavailable');
    return;
  }
  var Chart = window.Chart;
  var zoom = !!window.ChartZoom;
  if (zoom) Chart.register(window.ChartZoom);
  Chart.defaults.animation = false;
  Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  Chart.defaults.color = '#333';
  var PALETTE = ${JSON.stringify(PALETTE)};

  // the lab's one formatter of quantities (src/shared/units.ts), embedded: the tooltips read as the app and the CLI do
  var formatQuantity = ${formatQuantity.toString()};
  function fmt(unit, v) { return formatQuantity(unit, v, ${VALUE_DIGITS}); }
  function tick(unit, v) { return formatQuantity(unit, v, ${TICK_DIGITS}); }
  // Byte axes step in round binary units (10 MiB, not 9.5 MiB): 1, 2 or 5 × 10^n of the unit that fits the maximum.
  function byteStep(max) {
    if (!(max > 0)) return undefined;
    var u = 1;
    while (max / u >= 2048 && u < Math.pow(1024, 4)) u *= 1024;
    var raw = max / u / 6;
    var p = Math.pow(10, Math.floor(Math.log10(raw)));
    var m = raw / p;
    var nice = m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10;
    return Math.max(1, nice * p * u);
  }
  function maxOf(spec) {
    var max = 0;
    if (spec.kind === 'bar') {
      if (spec.stacked) {
        for (var i = 0; i < spec.labels.length; i++) { var s = 0; spec.datasets.forEach(function (d) { s += d.data[i] || 0; }); if (s > max) max = s; }
      } else spec.datasets.forEach(function (d) { d.data.forEach(function (v) { if (v > max) max = v; }); });
    } else spec.datasets.forEach(function (d) { (d.top || d.v).forEach(function (v) { if (v > max) max = v; }); });
    return max;
  }
  function yTicks(spec) {
    var t = { callback: function (v) { return tick(spec.unit, v); } };
    if (spec.unit === 'bytes' || spec.unit === 'byte_seconds') { var st = byteStep(maxOf(spec)); if (st) t.stepSize = st; }
    return t;
  }
  function zoomOptions() {
    if (!zoom) return undefined;
    return {
      zoom: { wheel: { enabled: true, modifierKey: 'ctrl' }, drag: { enabled: true }, pinch: { enabled: true }, mode: 'x' },
      pan: { enabled: true, mode: 'x', modifierKey: 'shift' }
    };
  }

  function lineConfig(spec) {
    // Stacked bands as the app draws them: y is the top of the band (computed with the report),
    // filled down to the band below; the tooltip gives the type's own value.
    var stackedBands = !!spec.stacked && spec.datasets.every(function (d) { return !!d.top; });
    var datasets = spec.datasets.map(function (d, i) {
      var pts = new Array(d.t.length);
      for (var k = 0; k < d.t.length; k++) pts[k] = stackedBands ? { x: d.t[k] / 1e9, y: d.top[k], v: d.v[k] } : { x: d.t[k] / 1e9, y: d.v[k] };
      var c = d.color || PALETTE[i % PALETTE.length];
      return { label: d.label, data: pts, borderColor: c, backgroundColor: stackedBands ? d.fill || c : c, stepped: 'before', pointRadius: 0, pointHitRadius: 4, borderWidth: stackedBands ? 1 : 1.5, fill: stackedBands ? (i === 0 ? 'origin' : '-1') : false, parsing: false, normalized: true };
    });
    return {
      type: 'line',
      data: { datasets: datasets },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        interaction: { mode: 'nearest', axis: 'x', intersect: false },
        scales: {
          x: { type: 'linear', title: { display: true, text: 'simulated time (s)' }, min: 0, max: spec.xMax / 1e9 },
          y: { beginAtZero: true, stacked: !!spec.stacked && !stackedBands, title: { display: true, text: spec.yTitle || '' }, ticks: yTicks(spec) }
        },
        plugins: {
          legend: { position: 'bottom' },
          tooltip: { callbacks: { title: function (items) { return items.length ? 't = ' + fmt('ns', Math.round(items[0].parsed.x * 1e9)) : ''; }, label: function (ctx) { return ctx.dataset.label + ': ' + fmt(spec.unit, stackedBands ? ctx.raw.v : ctx.parsed.y); } } },
          zoom: zoomOptions()
        }
      }
    };
  }

  function barConfig(spec) {
    var datasets = spec.datasets.map(function (d, i) {
      var c = d.color || PALETTE[i % PALETTE.length];
      return { label: d.label, data: d.data, backgroundColor: c, borderColor: c };
    });
    return {
      type: 'bar',
      data: { labels: spec.labels, datasets: datasets },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        scales: {
          x: { stacked: !!spec.stacked },
          y: { stacked: !!spec.stacked, beginAtZero: true, title: { display: true, text: spec.yTitle || '' }, ticks: yTicks(spec) }
        },
        plugins: {
          legend: { position: 'bottom', display: datasets.length > 1 },
          tooltip: { callbacks: { label: function (ctx) { return ctx.dataset.label + ': ' + fmt(spec.unit, ctx.parsed.y); } } }
        }
      }
    };
  }

  data.charts.forEach(function (spec) {
    var canvas = document.getElementById('chart-' + spec.id);
    if (!canvas) { state.errors.push('no canvas for chart ' + spec.id); return; }
    try {
      var chart = new Chart(canvas, spec.kind === 'bar' ? barConfig(spec) : lineConfig(spec));
      var points = chart.data.datasets.reduce(function (s, d) { return s + d.data.length; }, 0);
      state.charts.push({ id: spec.id, points: points, datasets: chart.data.datasets.length });
      canvas.setAttribute('data-drawn', String(points));
      canvas.addEventListener('dblclick', function () { if (chart.resetZoom) chart.resetZoom(); });
      var button = document.getElementById('reset-' + spec.id);
      if (button) {
        if (zoom && spec.kind !== 'bar') button.addEventListener('click', function () { chart.resetZoom(); });
        else button.hidden = true;
      }
    } catch (err) {
      state.errors.push(spec.id + ': ' + (err && err.message ? err.message : String(err)));
    }
  });

  var opened = [];
  window.addEventListener('beforeprint', function () {
    var all = document.querySelectorAll('details:not([open])');
    for (var i = 0; i < all.length; i++) { all[i].open = true; opened.push(all[i]); }
    Object.values(Chart.instances).forEach(function (c) { c.resize(); });
  });
  window.addEventListener('afterprint', function () {
    opened.forEach(function (d) { d.open = false; });
    opened = [];
    Object.values(Chart.instances).forEach(function (c) { c.resize(); });
  });
  state.ready = true;
  root.setAttribute('data-charts', state.errors.length ? 'error' : 'ready');
})();
`
