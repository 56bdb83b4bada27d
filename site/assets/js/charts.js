/* Charts from data/leaderboard.json with Vega-Lite: average vs parameters (log) with the
 * Pareto front, and per-benchmark score distributions. */
(function () {
  "use strict";
  var app = document.getElementById("charts-app");
  if (!app || typeof vegaEmbed === "undefined") return;
  var root = app.getAttribute("data-root");
  fetch(app.getAttribute("data-src")).then(function (r) { return r.json(); }).then(function (d) {
    var suite = d.default_suite, benches = suite ? d.suites[suite].benchmarks : [];
    var rows = d.rows.filter(function (r) { return r.suite === suite && r.average !== null && !r.flag; });
    var pts = rows.filter(function (r) { return r.params; }).map(function (r) {
      return {model: r.model, params: r.params, average: r.average, type: r.type, url: root + r.page};
    });
    var sorted = pts.slice().sort(function (a, b) { return a.params - b.params || b.average - a.average; });
    var front = [], best = -1;
    sorted.forEach(function (p) { if (p.average > best) { best = p.average; front.push(p); } });
    vegaEmbed("#chart-pareto", {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json", width: "container", height: 380,
      layer: [
        {data: {values: pts}, mark: {type: "point", filled: true, opacity: 0.5, tooltip: true},
          encoding: {x: {field: "params", type: "quantitative", scale: {type: "log"}, title: "parameters (billions, log)"},
            y: {field: "average", type: "quantitative", title: "average (%)"}, color: {field: "type", type: "nominal"},
            href: {field: "url"}, tooltip: [{field: "model"}, {field: "params"}, {field: "average"}]}},
        {data: {values: front}, mark: {type: "line", point: true, color: "black", interpolate: "step-after"},
          encoding: {x: {field: "params", type: "quantitative", scale: {type: "log"}}, y: {field: "average", type: "quantitative"},
            tooltip: [{field: "model"}, {field: "average"}]}}
      ]
    }, {actions: {export: true, source: false, compiled: false, editor: false}});
    var long = [];
    rows.forEach(function (r) { benches.forEach(function (b) { var v = r.scores[b.key]; if (v !== null && v !== undefined) long.push({benchmark: b.title, score: v}); }); });
    vegaEmbed("#chart-dist", {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json", data: {values: long},
      facet: {field: "benchmark", type: "nominal", title: null}, columns: 3,
      spec: {width: 220, height: 140, mark: {type: "bar", tooltip: true},
        encoding: {x: {field: "score", type: "quantitative", bin: {maxbins: 30}, title: "score (%)"},
          y: {aggregate: "count", type: "quantitative", title: "models"}}}
    }, {actions: {export: true, source: false, compiled: false, editor: false}});
    app.setAttribute("data-ready", "1");
  });
})();
