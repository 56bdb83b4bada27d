/* Charts from data/leaderboard.json with Vega-Lite: average vs parameters (log) with the
 * Pareto front, and per-benchmark score distributions. */
/* global vegaEmbed */
import {EMBED_OPTIONS, VEGA_LITE_SCHEMA, paretoFront} from "./lib/charts.js";

const app = document.getElementById("charts-app");
if (app && typeof vegaEmbed !== "undefined") {
  var root = app.getAttribute("data-root");
  fetch(app.getAttribute("data-src")).then(function (r) { return r.json(); }).then(function (d) {
    var suite = d.default_suite, benches = suite ? d.suites[suite].benchmarks : [];
    var rows = d.rows.filter(function (r) { return r.suite === suite && r.average !== null && !r.flag; });
    var pts = rows.filter(function (r) { return r.params; }).map(function (r) {
      return {model: r.model, params: r.params, average: r.average, type: r.type, url: root + r.page};
    });
    var front = paretoFront(pts);
    vegaEmbed("#chart-pareto", {
      $schema: VEGA_LITE_SCHEMA, width: "container", height: 380,
      layer: [
        {data: {values: pts}, mark: {type: "point", filled: true, opacity: 0.5, tooltip: true},
          encoding: {x: {field: "params", type: "quantitative", scale: {type: "log"}, title: "parameters (billions, log)"},
            y: {field: "average", type: "quantitative", title: "average (%)"}, color: {field: "type", type: "nominal"},
            href: {field: "url"}, tooltip: [{field: "model"}, {field: "params"}, {field: "average"}]}},
        {data: {values: front}, mark: {type: "line", point: true, color: "black", interpolate: "step-after"},
          encoding: {x: {field: "params", type: "quantitative", scale: {type: "log"}}, y: {field: "average", type: "quantitative"},
            tooltip: [{field: "model"}, {field: "average"}]}}
      ]
    }, EMBED_OPTIONS);
    var long = [];
    rows.forEach(function (r) { benches.forEach(function (b) { var v = r.scores[b.key]; if (v !== null && v !== undefined) long.push({benchmark: b.title, score: v}); }); });
    vegaEmbed("#chart-dist", {
      $schema: VEGA_LITE_SCHEMA, data: {values: long},
      facet: {field: "benchmark", type: "nominal", title: null}, columns: 3,
      spec: {width: 220, height: 140, mark: {type: "bar", tooltip: true},
        encoding: {x: {field: "score", type: "quantitative", bin: {maxbins: 30}, title: "score (%)"},
          y: {aggregate: "count", type: "quantitative", title: "models"}}}
    }, EMBED_OPTIONS);
    app.setAttribute("data-ready", "1");
  });
}
