/* Training curves with Vega-Lite (Analysis360 style): one small chart per metric, the
 * value over training steps. #curves-app (model page): one series, this checkpoint
 * marked. #compare-app (compare page): the series and models chosen by the reader,
 * overlaid (models as horizontal lines); the choice lives in the URL (?suite=&series=&model=). */
/* global vegaEmbed */
import {EMBED_OPTIONS, VEGA_LITE_SCHEMA, modelRows, seriesRows} from "./lib/charts.js";

function draw(el, values, root, step, columns) {
  values.forEach(function (v) { if (v.url) v.url = root + v.url; });
  var layers = [
    {transform: [{filter: "datum.kind === 'series'"}],
      mark: {type: "line", point: true, tooltip: true},
      encoding: {x: {field: "step", type: "quantitative", title: "training step"},
        y: {field: "value", type: "quantitative", title: null, scale: {zero: false}},
        color: {field: "label", type: "nominal", title: null, legend: {orient: "bottom", columns: 1}},
        href: {field: "url"},
        tooltip: [{field: "label"}, {field: "step"}, {field: "value"}, {field: "sha"}]}},
    {transform: [{filter: "datum.kind === 'model'"}],
      mark: {type: "rule", strokeDash: [4, 3]},
      encoding: {y: {field: "value", type: "quantitative"}, color: {field: "label", type: "nominal"},
        tooltip: [{field: "label"}, {field: "value"}]}}
  ];
  if (step !== null) {
    layers.push({transform: [{filter: "datum.kind === 'series' && datum.step === " + Number(step)}],
      mark: {type: "point", size: 120, shape: "diamond", filled: true, color: "black"},
      encoding: {x: {field: "step", type: "quantitative"}, y: {field: "value", type: "quantitative"}}});
  }
  return vegaEmbed(el, {
    $schema: VEGA_LITE_SCHEMA, data: {values: values},
    facet: {field: "metric", type: "nominal", title: null, sort: null}, columns: columns || 3,
    spec: {width: 200, height: 130, layer: layers},
    resolve: {scale: {y: "independent"}}
  }, EMBED_OPTIONS);
}

function modelPage(page) {
  fetch(page.getAttribute("data-src")).then(function (r) { return r.json(); }).then(function (s) {
    var step = page.getAttribute("data-step");
    return draw(page, seriesRows(s, s.meta, s.series), page.getAttribute("data-root"), step === "" ? null : step);
  }).then(function () { page.setAttribute("data-ready", "1"); });
}

function comparePage(app) {
  var root = app.getAttribute("data-root");
  fetch(app.getAttribute("data-src")).then(function (r) { return r.json(); }).then(function (d) {
    var q = new URLSearchParams(location.search);
    var sel = document.getElementById("cmp-suite");
    var wanted = q.getAll("series"), wantedModels = q.getAll("model");
    var first = d.series.filter(function (s) { return wanted.indexOf(s.id) >= 0; })[0];
    var suiteName = q.get("suite") || (first && first.suite) || (d.series[0] && d.series[0].suite) || sel.value;
    if (d.suites[suiteName]) sel.value = suiteName;

    function boxes(holder, items, name, checked, text) {
      holder.textContent = "";
      items.forEach(function (it) {
        var label = document.createElement("label"), box = document.createElement("input");
        box.type = "checkbox"; box.name = name; box.value = it.id; box.checked = checked(it);
        label.appendChild(box); label.appendChild(document.createTextNode(" " + text(it)));
        holder.appendChild(label);
      });
    }

    function chosen(name) {
      return Array.prototype.map.call(app.querySelectorAll("input[name=" + name + "]:checked"), function (b) { return b.value; });
    }

    function render() {
      var suite = d.suites[sel.value];
      var ids = chosen("series"), mids = chosen("model"), values = [];
      d.series.forEach(function (s) { if (ids.indexOf(s.id) >= 0) values = values.concat(seriesRows(s, suite, s.label)); });
      d.models.forEach(function (m) { if (mids.indexOf(m.id) >= 0) values = values.concat(modelRows(m, suite)); });
      var p = new URLSearchParams();
      p.set("suite", sel.value);
      ids.forEach(function (i) { p.append("series", i); });
      mids.forEach(function (i) { p.append("model", i); });
      history.replaceState(null, "", "?" + p.toString());
      document.getElementById("cmp-empty").hidden = values.length > 0;
      var charts = document.getElementById("cmp-charts");
      charts.textContent = "";
      if (!values.length) { app.setAttribute("data-ready", "1"); return; }
      draw(charts, values, root, null, 3).then(function () { app.setAttribute("data-ready", "1"); });
    }

    function fill() {
      var inSuite = function (x) { return x.suite === sel.value; };
      var series = d.series.filter(inSuite), models = d.models.filter(inSuite);
      boxes(document.getElementById("cmp-series"), series, "series",
        function (s) { return wanted.length ? wanted.indexOf(s.id) >= 0 : true; },
        function (s) { return s.label + " (" + s.points.length + " checkpoints, " + s.precision + ")"; });
      boxes(document.getElementById("cmp-models"), models, "model",
        function (m) { return wantedModels.indexOf(m.id) >= 0; },
        function (m) { return m.model + " (" + m.precision + ", " + m.sha.slice(0, 12) + ")"; });
      render();
    }

    app.addEventListener("change", function (e) {
      if (e.target === sel) { wanted = []; wantedModels = []; fill(); } else { render(); }
    });
    fill();
  });
}

if (typeof vegaEmbed !== "undefined") {
  var page = document.getElementById("curves-app");
  if (page) modelPage(page);
  var app = document.getElementById("compare-app");
  if (app) comparePage(app);
}
