/* Training curves with Vega-Lite (Analysis360 style): one small chart per metric, the
 * value over training steps. #curves-app (model page): one series, this checkpoint
 * marked. #compare-app (compare page): the series and models chosen by the reader,
 * overlaid (models as horizontal lines); the choice lives in the URL (?suite=&series=&model=). */
/* global vegaEmbed */
import {EMBED_OPTIONS, PALETTE, curveSpec, metrics, modelRows, seriesRows, themeConfig} from "./lib/charts.js";

function theme() {
  var style = getComputedStyle(document.body);
  return themeConfig(function (name) { return style.getPropertyValue(name).trim(); }, style.fontFamily);
}

function legend(holder, labels, models, step) {
  var box = document.createElement("div");
  box.className = "chart-legend";
  labels.forEach(function (l, i) {
    var s = document.createElement("span");
    s.textContent = l;
    s.style.setProperty("--swatch", PALETTE[i % PALETTE.length]);
    if (models.indexOf(l) >= 0) s.className = "chart-legend-rule";
    box.appendChild(s);
  });
  if (step !== null) {
    var m = document.createElement("span");
    m.className = "chart-legend-mark"; m.style.setProperty("--swatch", "#000");
    m.textContent = "this checkpoint (step " + Number(step).toLocaleString("en-US") + ")";
    box.appendChild(m);
  }
  holder.appendChild(box);
}

/* One panel per metric in a CSS grid (aligned, as many columns as fit), "no data yet" for
 * a metric without values, one HTML legend for all. */
function draw(el, values, root, step, suite) {
  values.forEach(function (v) { if (v.url) v.url = root + v.url; });
  el.textContent = "";
  var labels = [], models = [], steps = [Infinity, -Infinity];
  values.forEach(function (v) {
    if (labels.indexOf(v.label) < 0) labels.push(v.label);
    if (v.kind === "model" && models.indexOf(v.label) < 0) models.push(v.label);
    if (v.kind === "series") { steps[0] = Math.min(steps[0], v.step); steps[1] = Math.max(steps[1], v.step); }
  });
  if (!isFinite(steps[0])) steps = [0, 1];
  if (steps[0] === steps[1]) steps = [steps[0] - 1, steps[1] + 1];
  legend(el, labels, models, step);
  var grid = document.createElement("div");
  grid.className = "chart-grid";
  el.appendChild(grid);
  var config = theme(), jobs = [];
  metrics(suite).forEach(function (b) {
    var panel = document.createElement("div"), title = document.createElement("div");
    panel.className = "chart-panel"; panel.setAttribute("data-metric", b.key);
    title.className = "chart-panel-title";
    title.textContent = b.title + (b.unit ? " (" + b.unit + ")" : "");
    if (b.higher_is_better === false) {
      var low = document.createElement("span"); low.className = "chart-lower"; low.textContent = " ↓ lower is better";
      title.appendChild(low);
    }
    panel.appendChild(title);
    var rows = values.filter(function (v) { return v.key === b.key; }), plot = document.createElement("div");
    if (!rows.length) {
      plot.className = "chart-empty"; plot.textContent = "no data yet";
      panel.appendChild(plot); grid.appendChild(panel);
      return;
    }
    plot.className = "chart-plot";
    panel.appendChild(plot); grid.appendChild(panel);
    var spec = curveSpec(rows, steps, labels, step);
    spec.config = config;
    jobs.push(vegaEmbed(plot, spec, EMBED_OPTIONS));
  });
  return Promise.all(jobs);
}

function modelPage(page) {
  fetch(page.getAttribute("data-src")).then(function (r) { return r.json(); }).then(function (s) {
    var step = page.getAttribute("data-step");
    return draw(page, seriesRows(s, s.meta, s.series), page.getAttribute("data-root"), step === "" ? null : step, s.meta);
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
      var empty = document.getElementById("cmp-empty");
      if (!empty.hasAttribute("data-none")) empty.setAttribute("data-none", empty.textContent);
      var any = d.series.some(function (s) { return s.suite === sel.value; }) || d.models.some(function (m) { return m.suite === sel.value; });
      empty.textContent = any ? "No data yet: tick a series or a model above." : empty.getAttribute("data-none");
      empty.hidden = values.length > 0;
      var charts = document.getElementById("cmp-charts");
      charts.textContent = "";
      if (!values.length) { app.setAttribute("data-ready", "1"); return; }
      draw(charts, values, root, null, suite).then(function () { app.setAttribute("data-ready", "1"); });
    }

    function fill() {
      var inSuite = function (x) { return x.suite === sel.value; };
      var series = d.series.filter(inSuite), models = d.models.filter(inSuite);
      boxes(document.getElementById("cmp-series"), series, "series",
        function (s) { return wanted.length ? wanted.indexOf(s.id) >= 0 : true; },
        function (s) { return s.label + " (" + s.points.length + " checkpoints, " + s.precision + ")"; });
      boxes(document.getElementById("cmp-models"), models, "model",
        function (m) { return wantedModels.indexOf(m.id) >= 0; },
        function (m) { return m.model + " (" + m.precision + ", " + m.sha.slice(0, d.short_sha) + ")"; });
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
