/* Charts from data/leaderboard.json with Vega-Lite: average vs parameters (log) with the
 * Pareto front, and per-benchmark score distributions (one panel each, "no data yet"
 * where a benchmark has no scores). Themed from Material's CSS variables. */
/* global vegaEmbed */
import {EMBED_OPTIONS, VEGA_LITE_SCHEMA, axisFormat, histogramSpec, paretoFront, themeConfig} from "./lib/charts.js";

function empty(holder, text) {
  holder.textContent = "";
  var e = document.createElement("div");
  e.className = "chart-empty";
  e.textContent = text || "no data yet";
  holder.appendChild(e);
}

const app = document.getElementById("charts-app");
if (app && typeof vegaEmbed !== "undefined") {
  var root = app.getAttribute("data-root");
  var style = getComputedStyle(document.body);
  var config = themeConfig(function (name) { return style.getPropertyValue(name).trim(); }, style.fontFamily);
  config.legend.columns = app.clientWidth < 560 ? 2 : 5;  // a legend as wide as the chart, not wider
  fetch(app.getAttribute("data-src")).then(function (r) { return r.json(); }).then(function (d) {
    var suite = d.default_suite, benches = suite ? d.suites[suite].benchmarks : [];
    var titles = {};
    (d.meta && d.meta.model_types || []).forEach(function (t) { titles[t.key] = t.title; });
    var rows = d.rows.filter(function (r) { return r.suite === suite && r.average !== null && !r.flag; });
    var pts = rows.filter(function (r) { return r.params; }).map(function (r) {
      return {model: r.model, params: r.params, average: r.average, type: titles[r.type] || r.type, url: root + r.page};
    });
    var jobs = [];
    if (!pts.length) {
      empty(document.getElementById("chart-pareto"));
    } else {
      var front = paretoFront(pts), fmt = axisFormat([0].concat(pts.map(function (p) { return p.average; })));
      var x = {field: "params", type: "quantitative", scale: {type: "log"}, title: "parameters (billions, log scale)", axis: {format: "~g"}};
      var y = {field: "average", type: "quantitative", title: "average score (%)", axis: {format: fmt}};
      var tooltip = [{field: "model"}, {field: "params", title: "parameters (B)", format: ",.2~f"}, {field: "average", format: ".2f"}];
      var layers = [];
      if (front.length > 1) {  // under the points, which keep their type's color
        layers.push({data: {values: front}, mark: {type: "line", color: "#777", strokeWidth: 1.5, interpolate: "step-after"},
          encoding: {x: x, y: y, tooltip: tooltip}});
      }
      layers.push({data: {values: pts}, mark: {type: "point", filled: true, opacity: 0.8, size: 70, tooltip: true},
        encoding: {x: x, y: y, color: {field: "type", type: "nominal", title: "model type"}, href: {field: "url"}, tooltip: tooltip}});
      jobs.push(vegaEmbed("#chart-pareto", {
        $schema: VEGA_LITE_SCHEMA, width: "container", height: 360, autosize: {type: "fit-x", contains: "padding"},
        layer: layers, config: config}, EMBED_OPTIONS));
    }
    var dist = document.getElementById("chart-dist");
    dist.textContent = "";
    var grid = document.createElement("div");
    grid.className = "chart-grid";
    dist.appendChild(grid);
    if (!benches.length) empty(dist);
    benches.forEach(function (b) {
      var values = [];
      rows.forEach(function (r) { var v = r.scores[b.key]; if (v !== null && v !== undefined) values.push({benchmark: b.title, score: v}); });
      var panel = document.createElement("div"), title = document.createElement("div"), plot = document.createElement("div");
      panel.className = "chart-panel"; panel.setAttribute("data-metric", b.key);
      title.className = "chart-panel-title"; title.textContent = b.title;
      panel.appendChild(title); panel.appendChild(plot); grid.appendChild(panel);
      if (!values.length) { empty(plot); return; }
      plot.className = "chart-plot";
      var spec = histogramSpec(values, b.unit === undefined ? "%" : b.unit);
      spec.config = config;
      jobs.push(vegaEmbed(plot, spec, EMBED_OPTIONS));
    });
    return Promise.all(jobs);
  }).then(function () { app.setAttribute("data-ready", "1"); });
}
