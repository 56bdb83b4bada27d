/* Shlepa leaderboard: Tabulator (virtual DOM) over data/leaderboard.json.
 *
 * Every value from the data is untrusted: cells are built with textContent or
 * Tabulator's escaping "plaintext" formatter, never innerHTML; links are http(s) or
 * site-relative only. The whole view state lives in the URL query string. The logic
 * without DOM (search, averages, ranks, URL state, CSV) is in lib/.
 */
/* global Tabulator */
import {deriveSuite, filterView, prepareRow} from "./lib/board.js";
import {csvText, formatScore, hubUrl, isHttpUrl, numSorter, ordinalSorter, ordinals} from "./lib/format.js";
import {readState, sorters, writeState} from "./lib/state.js";

const app = document.getElementById("lb-app");
const FILTERS = ["type", "precision", "weight", "size", "show"];
let state, data, rows, table, benches, suiteRows = [];

/* The suite tabs follow ?suite= at once, before the data arrives. */
(function highlightTab() {
  const s = new URLSearchParams(location.search).get("suite");
  if (!s) return;
  document.querySelectorAll("#lb-tabs a").forEach((a) => {
    a.classList.toggle("md-button--primary", a.getAttribute("data-suite") === s);
  });
})();

function writeUrl() {
  const qs = writeState(state, data);
  history.replaceState(null, "", location.pathname + (qs ? "?" + qs : "") + location.hash);
}

function visibleBenches() {
  return benches.filter((b) => state.hidden.indexOf("b_" + b.key) < 0);
}

function derive() { suiteRows = deriveSuite(rows, data, state); }

/* One pass over the rows marks each visible (r._vis); Tabulator's only filter reads that
 * flag, so it never re-evaluates the query per row. */
function visibleOnly(d) { return d._vis; }
function applyFilter() {
  const view = filterView(rows, suiteRows, data, state);
  if (table.getFilters().length) table.refreshFilter(); else table.setFilter(visibleOnly);
  document.getElementById("lb-count").textContent = view.visible.length + " of " + suiteRows.length + " models";
}
function runSearch(q) { state.q = q; applyFilter(); writeUrl(); }

/* Formatters: DOM nodes or escaped text only. */
function text(s) { return document.createTextNode(s === null || s === undefined ? "" : String(s)); }
function fmtNum(cell) {
  const v = cell.getValue(), span = document.createElement("span");
  if (v === null || v === undefined) span.className = "lb-missing";
  span.textContent = formatScore(v);
  return span;
}
function fmtAvg(cell) {
  const el = fmtNum(cell), r = cell.getRow().getData();
  if (r.partial && r.avg !== null) { el.textContent += "*"; el.title = "missing benchmark(s) left out of the average"; }
  return el;
}
function fmtModel(cell) {
  const r = cell.getRow().getData(), wrap = document.createElement("span");
  const a = document.createElement("a");
  a.href = r.page; a.textContent = r.model; a.className = "lb-model";
  wrap.appendChild(a);
  const hub = document.createElement("a");
  hub.href = hubUrl(data.meta.hub_url, r.model);
  hub.textContent = " 🤗"; hub.title = "Hugging Face page"; hub.rel = "nofollow noopener";
  wrap.appendChild(hub);
  if (r.flag) {
    const f = document.createElement(isHttpUrl(r.flag.url) ? "a" : "span");
    if (f.tagName === "A") { f.href = r.flag.url; f.rel = "nofollow noopener"; }
    f.className = "lb-flag"; f.textContent = " " + data.meta.flag_symbol; f.title = "flagged: " + r.flag.reason;
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
const ordinalCache = {};
function ordinal(field) {
  if (!ordinalCache[field]) ordinalCache[field] = ordinals(rows.map((r) => r[field]));
  return ordinalCache[field];
}
function strSorter(field) { return ordinalSorter(() => ordinal(field)); }

function columns() {
  const cols = [
    {title: "Rank", field: "rank", width: 70, sorter: numSorter, formatter: fmtText, frozen: true},
    {title: "T", field: "symbol", width: 45, formatter: fmtText, headerTooltip: "model type"},
    {title: "Model", field: "model", width: 330, formatter: fmtModel, sorter: strSorter("model"), frozen: true},
    {title: "Average", field: "avg", width: 95, sorter: numSorter, formatter: fmtAvg},
  ];
  benches.forEach((b) => {
    cols.push({title: b.title, field: "b_" + b.key, width: 100, sorter: numSorter, formatter: fmtNum,
      visible: state.hidden.indexOf("b_" + b.key) < 0});
  });
  data.meta.columns.forEach((c) => {
    cols.push({title: c.title, field: c.field, width: c.field === "sha" ? 120 : 110,
      sorter: c.field === "params" ? numSorter : strSorter(c.field),
      formatter: c.field === "sha" ? fmtSha : fmtText, visible: state.hidden.indexOf(c.field) < 0});
  });
  return cols;
}

function chooserColumns() {
  return benches.map((b) => ({field: "b_" + b.key, title: b.title})).concat(data.meta.columns);
}

function columnChooser() {
  const box = document.getElementById("lb-columns");
  box.textContent = "";
  chooserColumns().forEach((c) => {
    const label = document.createElement("label"), cb = document.createElement("input");
    cb.type = "checkbox"; cb.name = "column"; cb.value = c.field; cb.checked = state.hidden.indexOf(c.field) < 0;
    cb.addEventListener("change", () => {
      state.hidden = state.hidden.filter((h) => h !== c.field);
      if (cb.checked) table.showColumn(c.field); else { table.hideColumn(c.field); state.hidden.push(c.field); }
      if (state.avgvis) { derive(); applyFilter(); table.redraw(true); }
      writeUrl();
    });
    label.appendChild(cb); label.appendChild(text(" " + c.title));
    box.appendChild(label);
  });
}

function syncControls() {
  document.getElementById("lb-search").value = state.q;
  document.getElementById("lb-norm").checked = state.norm;
  document.getElementById("lb-avg-visible").checked = state.avgvis;
  document.getElementById("lb-rank-filtered").checked = state.rankf;
  FILTERS.forEach((name) => {
    app.querySelectorAll('input[name="' + name + '"]').forEach((cb) => { cb.checked = state[name].indexOf(cb.value) >= 0; });
  });
  const sel = document.getElementById("lb-suite");
  if (sel) sel.value = state.suite;
}

function exportRows() {
  return table.getData("active").map((r) => {
    const o = {rank: r.rank, model: r.model, type: r.type, average: r.avg};
    visibleBenches().forEach((b) => { o[b.key] = r["b_" + b.key]; });
    data.meta.columns.forEach((c) => { if (state.hidden.indexOf(c.field) < 0) o[c.field] = r[c.field]; });
    o.flagged = r.flag ? r.flag.reason : "";
    return o;
  });
}
function download(name, type, body) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([body], {type: type}));
  a.download = name;
  document.body.appendChild(a); a.click(); a.remove();
}

function refreshAll() { derive(); applyFilter(); table.setSort(sorters(state.sort)); writeUrl(); }

function wire() {
  let timer;
  const box = document.getElementById("lb-search");
  box.addEventListener("input", (e) => {
    clearTimeout(timer);
    timer = setTimeout(() => { runSearch(e.target.value); }, 120);  // typing pauses, not keystrokes
  });
  // Enter (or leaving the box) searches at once.
  box.addEventListener("change", (e) => { clearTimeout(timer); if (e.target.value !== state.q) runSearch(e.target.value); });
  [["lb-norm", "norm"], ["lb-avg-visible", "avgvis"], ["lb-rank-filtered", "rankf"]].forEach((p) => {
    document.getElementById(p[0]).addEventListener("change", (e) => { state[p[1]] = e.target.checked; refreshAll(); table.redraw(true); });
  });
  FILTERS.forEach((name) => {
    app.querySelectorAll('input[name="' + name + '"]').forEach((cb) => {
      cb.addEventListener("change", () => {
        state[name] = Array.from(app.querySelectorAll('input[name="' + name + '"]')).filter((c) => c.checked).map((c) => c.value);
        applyFilter(); writeUrl();
      });
    });
  });
  const sel = document.getElementById("lb-suite");
  if (sel) sel.addEventListener("change", () => { state.suite = sel.value; start(); });
  document.getElementById("lb-csv").addEventListener("click", () => {
    download("leaderboard-view.csv", "text/csv", csvText(exportRows()));
  });
  document.getElementById("lb-json").addEventListener("click", () => {
    download("leaderboard-view.json", "application/json", JSON.stringify(exportRows(), null, 1));
  });
  document.getElementById("lb-share").addEventListener("click", () => {
    if (navigator.clipboard) navigator.clipboard.writeText(location.href);
  });
}

/* The height of one table row in the current fonts and zoom (cells never wrap). */
function probeRowHeight() {
  const probe = document.createElement("div"), row = document.createElement("div"), cell = document.createElement("div");
  probe.className = "tabulator"; probe.style.cssText = "position:absolute;visibility:hidden;";
  row.className = "tabulator-row"; cell.className = "tabulator-cell"; cell.textContent = "Ag " + data.meta.model_types[0].symbol + " " + data.meta.flag_symbol;
  row.appendChild(cell); probe.appendChild(row);
  document.getElementById("lb-table").appendChild(probe);
  const h = row.offsetHeight;
  probe.remove();
  return h > 0 ? h : 30;
}

function start() {
  benches = data.suites[state.suite] ? data.suites[state.suite].benchmarks : [];
  derive();
  if (table) table.destroy();
  const rowHeight = probeRowHeight();
  table = new Tabulator("#lb-table", {
    data: rows, index: "id", columns: columns(), height: "70vh", layout: "fitDataTable",
    renderVertical: "virtual", placeholder: "No model matches this view", initialSort: sorters(state.sort),
    // A fixed row height and a small buffer of off-screen rows: Tabulator then measures
    // no cells and lays out ~25 rows per redraw instead of ~40 (the cost of a sort/filter).
    rowHeight: rowHeight, renderVerticalBuffer: 4 * rowHeight,
    columnDefaults: {headerSortStartingDir: "desc"},
  });
  table.on("dataSorted", (s) => {
    if (s.length) { state.sort = s[0].field + ":" + s[0].dir; writeUrl(); }
  });
  table.on("tableBuilt", () => {
    columnChooser(); applyFilter(); writeUrl();
    performance.mark("lb-ready");
    app.setAttribute("data-ready", "1");
    // Order the model names while the page is idle, so the first sort by name is quick too.
    (window.requestIdleCallback || setTimeout)(() => { ordinal("model"); });
  });
}

if (app && typeof Tabulator !== "undefined") {
  fetch(app.getAttribute("data-src")).then((r) => r.json()).then((d) => {
    data = d;
    rows = d.rows;
    rows.forEach((r) => prepareRow(r, d.meta));
    state = readState(location.search, data);
    syncControls();
    wire();
    if (!d.suites[state.suite]) { document.getElementById("lb-count").textContent = "No suite."; return; }
    start();
  });
}
