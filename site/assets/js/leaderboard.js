/* Shlepa leaderboard: Tabulator (virtual DOM) over data/leaderboard.json.
 *
 * Every value from the data is untrusted: cells are built with textContent or
 * Tabulator's escaping "plaintext" formatter, never innerHTML; links are http(s) or
 * site-relative only. The whole view state lives in the URL query string.
 */
(function () {
  "use strict";
  var app = document.getElementById("lb-app");
  if (!app || typeof Tabulator === "undefined") return;

  var TYPES = {"pretrained": "🟢", "continuously-pretrained": "🟩", "fine-tuned": "🔶", "chat": "💬", "merge": "🤝"};
  var EXTRA_COLS = [
    ["precision", "Precision", true], ["params", "Params (B)", true], ["license", "License", true],
    ["sha", "Revision", true], ["arch", "Architecture", false], ["submitted", "Submitted", false],
    ["weight_type", "Weights", false]
  ];
  var state, data, rows, table, suite, benches;

  function defaults() {
    return {q: "", suite: data.default_suite, norm: false, avgvis: false, rankf: false,
      type: Object.keys(TYPES), precision: ["bfloat16", "float16", "float32", "8bit", "4bit"],
      weight: ["original", "adapter", "delta"], size: ["0-3", "3-7", "7-65", "65+", "unknown"],
      show: ["merged", "moe"], hidden: ["arch", "submitted", "weight_type"], sort: "avg:desc"};
  }
  var LISTS = ["type", "precision", "weight", "size", "show", "hidden"];

  function readUrl() {
    var s = defaults(), p = new URLSearchParams(location.search);
    if (p.has("search")) s.q = p.get("search");
    if (p.has("suite") && data.suites[p.get("suite")]) s.suite = p.get("suite");
    ["norm", "avgvis", "rankf"].forEach(function (k) { if (p.has(k)) s[k] = p.get(k) === "1"; });
    LISTS.forEach(function (k) { if (p.has(k)) s[k] = p.get(k) ? p.get(k).split(",") : []; });
    if (p.has("sort")) s.sort = p.get("sort");
    return s;
  }
  function writeUrl() {
    var d = defaults(), p = new URLSearchParams();
    if (state.q) p.set("search", state.q);
    if (state.suite !== d.suite) p.set("suite", state.suite);
    ["norm", "avgvis", "rankf"].forEach(function (k) { if (state[k]) p.set(k, "1"); });
    LISTS.forEach(function (k) { if (state[k].join(",") !== d[k].join(",")) p.set(k, state[k].join(",")); });
    if (state.sort !== d.sort) p.set("sort", state.sort);
    var qs = p.toString();
    history.replaceState(null, "", location.pathname + (qs ? "?" + qs : "") + location.hash);
  }

  /* Search: "name; name; license: mit; type: chat; precision: bfloat16; arch: llama". */
  function parseQuery(q) {
    var out = {names: [], license: [], type: [], precision: [], arch: []};
    q.split(";").forEach(function (part) {
      var t = part.trim().toLowerCase();
      if (!t) return;
      var m = /^(license|type|precision|arch)\s*:\s*(.*)$/.exec(t);
      if (m) { if (m[2]) out[m[1]].push(m[2].trim()); } else out.names.push(t);
    });
    return out;
  }
  function sizeBand(p) {
    if (p === null || p === undefined) return "unknown";
    if (p <= 3) return "0-3";
    if (p <= 7) return "3-7";
    if (p <= 65) return "7-65";
    return "65+";
  }

  function visibleBenches() {
    return benches.filter(function (b) { return state.hidden.indexOf("b_" + b.key) < 0; });
  }

  /* Derived values: displayed scores (raw or normalized), the average, both ranks. */
  function derive() {
    var keys = (state.avgvis ? visibleBenches() : benches).map(function (b) { return b.key; });
    var src = state.norm ? "norm" : "scores";
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i], sum = 0, n = 0, vals = r[src];
      for (var j = 0; j < benches.length; j++) r["b_" + benches[j].key] = vals[benches[j].key];
      for (var k = 0; k < keys.length; k++) { var v = vals[keys[k]]; if (v !== null && v !== undefined) { sum += v; n++; } }
      r.avg = n ? Math.round(sum / n * 100) / 100 : null;
      r.partial = n < keys.length;
    }
    var order = rows.slice().sort(function (a, b) { return (b.avg === null ? -1 : b.avg) - (a.avg === null ? -1 : a.avg); });
    for (var x = 0; x < order.length; x++) order[x].rank_all = x + 1;
  }

  function matches(r, q) {
    if (r.suite !== state.suite) return false;
    if (state.type.indexOf(r.type) < 0 || state.precision.indexOf(r.precision) < 0) return false;
    if (state.weight.indexOf(r.weight_type) < 0 || state.size.indexOf(r.band) < 0) return false;
    if (r.flag && state.show.indexOf("flagged") < 0) return false;
    if (r.merged && state.show.indexOf("merged") < 0) return false;
    if (r.moe && state.show.indexOf("moe") < 0) return false;
    if (!r.available && state.show.indexOf("unavailable") < 0) return false;
    if (q.names.length && !q.names.some(function (n) { return r.lname.indexOf(n) >= 0; })) return false;
    if (q.license.length && q.license.indexOf(r.llicense) < 0) return false;
    if (q.type.length && !q.type.some(function (t) { return r.type.indexOf(t) === 0 || (TYPES[r.type] === t); })) return false;
    if (q.precision.length && q.precision.indexOf(r.precision) < 0) return false;
    if (q.arch.length && !q.arch.some(function (a) { return r.larch.indexOf(a) >= 0; })) return false;
    return true;
  }

  var visible = [];
  /* One pass over the rows marks each visible (r._vis); Tabulator's only filter reads that
   * flag, so it never re-evaluates the query per row. */
  function visibleOnly(d) { return d._vis; }
  function applyFilter() {
    var q = parseQuery(state.q), total = 0;
    visible = [];
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      if (r.suite === state.suite) total++;
      r._vis = matches(r, q);
      if (r._vis) visible.push(r);
    }
    if (state.rankf) {
      var byAvg = visible.slice().sort(function (a, b) { return (b.avg === null ? -1 : b.avg) - (a.avg === null ? -1 : a.avg); });
      for (var j = 0; j < byAvg.length; j++) byAvg[j].rank = j + 1;
    } else {
      for (var k = 0; k < rows.length; k++) rows[k].rank = rows[k].rank_all;
    }
    if (table.getFilters().length) table.refreshFilter(); else table.setFilter(visibleOnly);
    document.getElementById("lb-count").textContent = visible.length + " of " + total + " models";
  }
  function runSearch(q) { state.q = q; applyFilter(); writeUrl(); }

  /* Formatters: DOM nodes or escaped text only. */
  function text(s) { return document.createTextNode(s === null || s === undefined ? "" : String(s)); }
  function fmtNum(cell) {
    var v = cell.getValue();
    var span = document.createElement("span");
    if (v === null || v === undefined) { span.className = "lb-missing"; span.textContent = "–"; }
    else span.textContent = Number(v).toFixed(2);
    return span;
  }
  function fmtAvg(cell) {
    var el = fmtNum(cell), r = cell.getRow().getData();
    if (r.partial && r.avg !== null) { el.textContent += "*"; el.title = "missing benchmark(s) left out of the average"; }
    return el;
  }
  function fmtModel(cell) {
    var r = cell.getRow().getData(), wrap = document.createElement("span");
    var a = document.createElement("a");
    a.href = r.page; a.textContent = r.model; a.className = "lb-model";
    wrap.appendChild(a);
    var hub = document.createElement("a");
    hub.href = "https://huggingface.co/" + r.model.split("/").map(encodeURIComponent).join("/");
    hub.textContent = " 🤗"; hub.title = "Hugging Face page"; hub.rel = "nofollow noopener";
    wrap.appendChild(hub);
    if (r.flag) {
      var f = document.createElement(/^https?:\/\//.test(r.flag.url || "") ? "a" : "span");
      if (f.tagName === "A") { f.href = r.flag.url; f.rel = "nofollow noopener"; }
      f.className = "lb-flag"; f.textContent = " ⚑"; f.title = "flagged: " + r.flag.reason;
      wrap.appendChild(f);
    }
    return wrap;
  }
  function fmtText(cell) { return text(cell.getValue()); }
  function fmtSha(cell) { return text((cell.getValue() || "").slice(0, 12)); }

  /* Sorters: Tabulator's stock ones parse numbers and build a collator on every comparison
   * (~140k comparisons per sort at 10,000 rows). These compare numbers directly, and strings
   * by their case-insensitive ordinal among the column's values (computed on the first sort
   * of that column); empty values go last in either direction. */
  function emptyLast(aEmpty, dir) { return (aEmpty ? 1 : -1) * (dir === "asc" ? 1 : -1); }
  function isEmpty(v) { return v === null || v === undefined || v === ""; }
  function numSorter(a, b, ar, br, col, dir) {
    var ae = isEmpty(a), be = isEmpty(b);
    if (ae || be) return ae === be ? 0 : emptyLast(ae, dir);
    return a - b;
  }
  var ordinals = {};
  function ordinal(field) {
    if (!ordinals[field]) {
      var seen = new Map();
      rows.forEach(function (r) { var v = r[field]; if (!isEmpty(v) && !seen.has(v)) seen.set(v, String(v).toLowerCase()); });
      var keys = Array.from(seen.keys()).sort(function (x, y) {
        var a = seen.get(x), b = seen.get(y);
        return a < b ? -1 : (a > b ? 1 : (x < y ? -1 : (x > y ? 1 : 0)));
      });
      ordinals[field] = new Map(keys.map(function (k, i) { return [k, i]; }));
    }
    return ordinals[field];
  }
  function strSorter(field) {
    return function (a, b, ar, br, col, dir) {
      var ae = isEmpty(a), be = isEmpty(b);
      if (ae || be) return ae === be ? 0 : emptyLast(ae, dir);
      var ord = ordinal(field);
      return ord.get(a) - ord.get(b);
    };
  }

  function columns() {
    var cols = [
      {title: "Rank", field: "rank", width: 70, sorter: numSorter, formatter: fmtText, frozen: true},
      {title: "T", field: "symbol", width: 45, formatter: fmtText, headerTooltip: "model type"},
      {title: "Model", field: "model", width: 330, formatter: fmtModel, sorter: strSorter("model"), frozen: true},
      {title: "Average", field: "avg", width: 95, sorter: numSorter, formatter: fmtAvg}
    ];
    benches.forEach(function (b) {
      cols.push({title: b.title, field: "b_" + b.key, width: 100, sorter: numSorter, formatter: fmtNum,
        visible: state.hidden.indexOf("b_" + b.key) < 0});
    });
    EXTRA_COLS.forEach(function (c) {
      cols.push({title: c[1], field: c[0], width: c[0] === "sha" ? 120 : 110, sorter: c[0] === "params" ? numSorter : strSorter(c[0]),
        formatter: c[0] === "sha" ? fmtSha : fmtText, visible: state.hidden.indexOf(c[0]) < 0});
    });
    return cols;
  }

  function columnChooser() {
    var box = document.getElementById("lb-columns");
    box.textContent = "";
    benches.map(function (b) { return ["b_" + b.key, b.title]; }).concat(EXTRA_COLS).forEach(function (c) {
      var label = document.createElement("label"), cb = document.createElement("input");
      cb.type = "checkbox"; cb.name = "column"; cb.value = c[0]; cb.checked = state.hidden.indexOf(c[0]) < 0;
      cb.addEventListener("change", function () {
        state.hidden = state.hidden.filter(function (h) { return h !== c[0]; });
        if (cb.checked) table.showColumn(c[0]); else { table.hideColumn(c[0]); state.hidden.push(c[0]); }
        if (state.avgvis) { derive(); applyFilter(); table.redraw(true); }
        writeUrl();
      });
      label.appendChild(cb); label.appendChild(text(" " + c[1]));
      box.appendChild(label);
    });
  }

  function syncControls() {
    document.getElementById("lb-search").value = state.q;
    document.getElementById("lb-norm").checked = state.norm;
    document.getElementById("lb-avg-visible").checked = state.avgvis;
    document.getElementById("lb-rank-filtered").checked = state.rankf;
    ["type", "precision", "weight", "size", "show"].forEach(function (name) {
      app.querySelectorAll('input[name="' + name + '"]').forEach(function (cb) { cb.checked = state[name].indexOf(cb.value) >= 0; });
    });
    var sel = document.getElementById("lb-suite");
    if (sel) sel.value = state.suite;
  }

  function exportRows() {
    var active = table.getData("active");
    return active.map(function (r) {
      var o = {rank: r.rank, model: r.model, type: r.type, average: r.avg};
      visibleBenches().forEach(function (b) { o[b.key] = r["b_" + b.key]; });
      EXTRA_COLS.forEach(function (c) { if (state.hidden.indexOf(c[0]) < 0) o[c[0]] = r[c[0]]; });
      o.flagged = r.flag ? r.flag.reason : "";
      return o;
    });
  }
  function csvCell(v) {
    if (v === null || v === undefined) return "";
    var s = String(v);
    if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;  // no formula injection when opened in a spreadsheet
    return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }
  function download(name, type, body) {
    var a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([body], {type: type}));
    a.download = name;
    document.body.appendChild(a); a.click(); a.remove();
  }

  function sortFromState() {
    var parts = state.sort.split(":");
    return [{column: parts[0], dir: parts[1] === "asc" ? "asc" : "desc"}];
  }

  function refreshAll() { derive(); applyFilter(); table.setSort(sortFromState()); writeUrl(); }

  function wire() {
    var timer;
    document.getElementById("lb-search").addEventListener("input", function (e) {
      clearTimeout(timer);
      timer = setTimeout(function () { runSearch(e.target.value); }, 120);  // typing pauses, not keystrokes
    });
    [["lb-norm", "norm"], ["lb-avg-visible", "avgvis"], ["lb-rank-filtered", "rankf"]].forEach(function (p) {
      document.getElementById(p[0]).addEventListener("change", function (e) { state[p[1]] = e.target.checked; refreshAll(); table.redraw(true); });
    });
    ["type", "precision", "weight", "size", "show"].forEach(function (name) {
      app.querySelectorAll('input[name="' + name + '"]').forEach(function (cb) {
        cb.addEventListener("change", function () {
          state[name] = Array.prototype.filter.call(app.querySelectorAll('input[name="' + name + '"]'), function (c) { return c.checked; })
            .map(function (c) { return c.value; });
          applyFilter(); writeUrl();
        });
      });
    });
    var sel = document.getElementById("lb-suite");
    if (sel) sel.addEventListener("change", function () { state.suite = sel.value; start(); });
    document.getElementById("lb-csv").addEventListener("click", function () {
      var out = exportRows(), keys = out.length ? Object.keys(out[0]) : ["rank", "model"];
      var lines = [keys.join(",")].concat(out.map(function (o) { return keys.map(function (k) { return csvCell(o[k]); }).join(","); }));
      download("leaderboard-view.csv", "text/csv", lines.join("\n") + "\n");
    });
    document.getElementById("lb-json").addEventListener("click", function () {
      download("leaderboard-view.json", "application/json", JSON.stringify(exportRows(), null, 1));
    });
    document.getElementById("lb-share").addEventListener("click", function () {
      if (navigator.clipboard) navigator.clipboard.writeText(location.href);
    });
  }

  /* The height of one table row in the current fonts and zoom (cells never wrap). */
  function probeRowHeight() {
    var probe = document.createElement("div"), row = document.createElement("div"), cell = document.createElement("div");
    probe.className = "tabulator"; probe.style.cssText = "position:absolute;visibility:hidden;";
    row.className = "tabulator-row"; cell.className = "tabulator-cell"; cell.textContent = "Ag 🟢 ⚑";
    row.appendChild(cell); probe.appendChild(row);
    document.getElementById("lb-table").appendChild(probe);
    var h = row.offsetHeight;
    probe.remove();
    return h > 0 ? h : 30;
  }

  function start() {
    benches = data.suites[state.suite] ? data.suites[state.suite].benchmarks : [];
    derive();
    if (table) table.destroy();
    var rowHeight = probeRowHeight();
    table = new Tabulator("#lb-table", {
      data: rows, index: "id", columns: columns(), height: "70vh", layout: "fitDataTable",
      renderVertical: "virtual", placeholder: "No model matches this view", initialSort: sortFromState(),
      // A fixed row height and a small buffer of off-screen rows: Tabulator then measures
      // no cells and lays out ~25 rows per redraw instead of ~40 (the cost of a sort/filter).
      rowHeight: rowHeight, renderVerticalBuffer: 4 * rowHeight,
      columnDefaults: {headerSortStartingDir: "desc"}
    });
    table.on("dataSorted", function (sorters) {
      if (sorters.length) { state.sort = sorters[0].field + ":" + sorters[0].dir; writeUrl(); }
    });
    table.on("tableBuilt", function () {
      columnChooser(); applyFilter(); writeUrl();
      window.__lb = {table: table, readyAt: performance.now(), state: state, visible: function () { return visible; },
        search: runSearch};
      app.setAttribute("data-ready", "1");
      // Order the model names while the page is idle, so the first sort by name is quick too.
      (window.requestIdleCallback || setTimeout)(function () { ordinal("model"); });
    });
  }

  fetch(app.getAttribute("data-src")).then(function (r) { return r.json(); }).then(function (d) {
    data = d;
    rows = d.rows;
    rows.forEach(function (r) {
      r.symbol = TYPES[r.type] || "";
      r.lname = r.model.toLowerCase();
      r.llicense = String(r.license || "").toLowerCase();
      r.larch = String(r.arch || "").toLowerCase();
      r.band = sizeBand(r.params);
    });
    state = readUrl();
    syncControls();
    wire();
    if (!d.suites[state.suite]) { document.getElementById("lb-count").textContent = "No suite."; return; }
    start();
  });
})();
