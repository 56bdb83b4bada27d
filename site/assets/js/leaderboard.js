/* Shlepa leaderboard: Tabulator (virtual DOM) over data/leaderboard.json.
 *
 * Every value from the data is untrusted: cells are built with textContent or
 * Tabulator's escaping "plaintext" formatter, never innerHTML; links are http(s) or
 * site-relative only. The whole view state lives in the URL query string. The logic
 * without DOM (search, averages, ranks, URL state, CSV) is in lib/.
 */
/* global Tabulator */
import {deriveSuite, filterView, prepareRow} from "./lib/board.js";
import {csvText, formatParams, formatScore, hubUrl, isHttpUrl, numSorter, ordinalSorter, ordinals} from "./lib/format.js";
import {readState, sorters, writeState} from "./lib/state.js";

const app = document.getElementById("lb-app");
const FILTERS = ["type", "precision", "weight", "size", "show"];
let state, data, rows, table, benches, suiteRows = [];

/* The suite tabs (the one suite control, default suite first) follow ?suite= at once,
 * before the data arrives; once it has, a click switches the suite without a reload. */
function highlightTab(s) {
  document.querySelectorAll("#lb-tabs a").forEach((a) => {
    const on = a.getAttribute("data-suite") === s;
    a.classList.toggle("md-button--primary", on);
    if (on) a.setAttribute("aria-current", "true"); else a.removeAttribute("aria-current");
  });
}
if (new URLSearchParams(location.search).get("suite")) highlightTab(new URLSearchParams(location.search).get("suite"));

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
  const pinned = view.visible.filter((r) => isPinned(r)).length;
  document.getElementById("lb-count").textContent = view.visible.length + " of " + suiteRows.length + " models" +
    (pinned ? " (" + pinned + " pinned)" : "");
  // The empty states: nothing evaluated on this suite yet (how to submit), or nothing in this view.
  document.getElementById("lb-empty-board").hidden = suiteRows.length > 0;
  document.getElementById("lb-empty").hidden = !(suiteRows.length > 0 && view.visible.length === 0);
  document.getElementById("lb-table").classList.toggle("lb-table--empty", view.visible.length === 0);
}
function isPinned(r) { return state.pin.indexOf(r.id) >= 0; }
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
  if (!r.local) {  // a model evaluated from a local folder (the demo's) has no Hub page
    const hub = document.createElement("a");
    hub.href = hubUrl(data.meta.hub_url, r.model);
    hub.textContent = " 🤗"; hub.title = "Hugging Face page"; hub.rel = "nofollow noopener";
    wrap.appendChild(hub);
  }
  if (r.flag) {
    const f = document.createElement(isHttpUrl(r.flag.url) ? "a" : "span");
    if (f.tagName === "A") { f.href = r.flag.url; f.rel = "nofollow noopener"; }
    f.className = "lb-flag"; f.textContent = " " + data.meta.flag_symbol; f.title = "flagged: " + r.flag.reason;
    wrap.appendChild(f);
  }
  if (r.harness) {  // evaluated with an lm-eval release other than the suite's: scores may not compare
    const h = document.createElement("span");
    h.className = "lb-harness"; h.textContent = " " + data.meta.harness_symbol;
    h.title = "evaluated with lm-eval " + (r.harness.version || "(not recorded)") + "; this suite pins " + r.harness.pinned;
    wrap.appendChild(h);
  }
  return wrap;
}
function fmtText(cell) { return text(cell.getValue()); }
function fmtParams(cell) { return text(formatParams(cell.getValue())); }
function fmtPin(cell) {
  const r = cell.getRow().getData(), b = document.createElement("button");
  b.type = "button"; b.className = "lb-pin"; b.textContent = isPinned(r) ? "★" : "☆";
  b.title = isPinned(r) ? "unpin" : "pin to the top, to compare side by side";
  b.setAttribute("aria-pressed", isPinned(r) ? "true" : "false");
  b.setAttribute("aria-label", (isPinned(r) ? "unpin " : "pin ") + r.model);
  return b;
}
function togglePin(_e, cell) {
  const r = cell.getRow().getData();
  state.pin = isPinned(r) ? state.pin.filter((id) => id !== r.id) : state.pin.concat([r.id]);
  applyFilter(); table.setSort(table.getSorters().map((x) => ({column: x.field, dir: x.dir})));
  cell.getRow().reformat(); writeUrl();
}
function fmtSha(cell) { return text((cell.getValue() || "").slice(0, data.meta.short_sha)); }

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

/* Pinned rows first in either direction, then the column's own order. */
function pinnedFirst(sorter) {
  return (a, b, ar, br, col, dir, params) => {
    if (!state.pin.length) return sorter(a, b, ar, br, col, dir, params);  // the common case: no pins
    const pa = isPinned(ar.getData()), pb = isPinned(br.getData());
    if (pa !== pb) return (pa ? -1 : 1) * (dir === "asc" ? 1 : -1);
    return sorter(a, b, ar, br, col, dir, params);
  };
}

/* A benchmark's header: its title (wrapped), and a tooltip naming the benchmark, the
 * few-shot count, the metric, the direction and whether it counts in the average. */
function benchTooltip(b) {
  return b.title + " — " + b.num_fewshot + "-shot, metric " + b.metric +
    (b.higher_is_better === false ? "; lower is better" : "; higher is better") +
    (b.in_average === false ? "; not in the average" : "");
}

/* A column wide enough for its longest title word (the header wraps between words, never
 * inside one). ~9 px per character of a capitalised title, plus the sort arrow. */
function fitWidth(title, min, max) {
  const longest = String(title).split(/\s+/).reduce((n, w) => Math.max(n, w.length), 0);
  return Math.max(min, Math.min(max, Math.round(longest * 9.2 + 36)));
}

/* Header tooltips, as the columns' native title (shown on hover, read by screen readers). */
const tips = {};
function tip(field, text) { tips[field] = text; return field; }
function applyTips() {
  table.getColumns().forEach((c) => { if (tips[c.getField()]) c.getElement().title = tips[c.getField()]; });
}

function columns() {
  // A phone: only the pin and the rank stay frozen, and the first columns are narrow enough
  // that the average is on screen beside the model's name before any sideways scroll.
  const narrow = app.clientWidth < 700;
  const hasSteps = suiteRows.some((r) => r.step !== null && r.step !== undefined);
  const cols = [
    {title: "", field: tip("pin", "pin models to the top of the table to compare them"), width: narrow ? 28 : 34,
      minWidth: 24, headerSort: false, formatter: fmtPin, cellClick: togglePin, frozen: true},
    {title: narrow ? "#" : "Rank", field: tip("rank", "rank within the suite by average (or within the filter)"),
      width: narrow ? 46 : 66, sorter: numSorter, formatter: fmtText, frozen: true},
    {title: "T", field: tip("symbol", "model type"), width: narrow ? 34 : 40, minWidth: 24, formatter: fmtText,
      sorter: strSorter("symbol"), frozen: !narrow},
    {title: "Model", field: tip("model", "model id (links to its page)"), width: narrow ? 150 : 300,
      formatter: fmtModel, sorter: strSorter("model"), frozen: !narrow},
  ];
  if (hasSteps) {
    cols.push({title: "Step", field: tip("step", "checkpoint step (models of a checkpoint series)"), width: 70,
      sorter: numSorter, formatter: fmtText});
  }
  cols.push({title: "Average", field: tip("avg", "mean of the suite's averaged benchmarks (higher is better)"),
    width: narrow ? 84 : 92, sorter: numSorter, formatter: fmtAvg});
  benches.forEach((b) => {
    cols.push({title: b.title, field: tip("b_" + b.key, benchTooltip(b)), width: fitWidth(b.title, 74, 150),
      sorter: numSorter, formatter: fmtNum, headerSortStartingDir: b.higher_is_better === false ? "asc" : "desc",
      visible: state.hidden.indexOf("b_" + b.key) < 0});
  });
  data.meta.columns.forEach((c) => {
    cols.push({title: c.title, field: c.field, width: c.field === "sha" ? 120 : fitWidth(c.title, 80, 130),
      sorter: c.field === "params" ? numSorter : strSorter(c.field),
      formatter: {sha: fmtSha, params: fmtParams}[c.field] || fmtText, visible: state.hidden.indexOf(c.field) < 0});
  });
  cols.forEach((c) => { if (c.sorter) c.sorter = pinnedFirst(c.sorter); });
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
  highlightTab(state.suite);
}

/* The view as the table shows it, in its order: the same ranks, averages and scores. */
function exportRows() {
  const steps = table.getColumns().some((c) => c.getField() === "step");
  return table.getData("active").map((r) => {
    const o = {rank: r.rank, model: r.model};
    if (steps) o.step = r.step;
    o.type = r.type; o.scores = state.norm ? "normalized" : "raw"; o.average = r.avg;
    o.pinned = isPinned(r) ? "yes" : "";
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

function refreshAll() {
  derive(); applyFilter();
  table.setSort(sorters(state.sort, table.getColumns().map((c) => c.getField())));
  writeUrl();
}
function sortOf(s) { return s.length ? s[0].field + ":" + s[0].dir : state.sort; }

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
  document.querySelectorAll("#lb-tabs a").forEach((a) => {
    a.addEventListener("click", (e) => {
      const s = a.getAttribute("data-suite");
      if (!Object.hasOwn(data.suites, s)) return;
      e.preventDefault();
      if (s === state.suite) return;
      state.suite = s; state.sort = "avg:desc"; highlightTab(s); start();
    });
  });
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
  benches = Object.hasOwn(data.suites, state.suite) ? data.suites[state.suite].benchmarks : [];
  derive();
  if (table) table.destroy();
  const rowHeight = probeRowHeight();
  // No fixed height: the table is as tall as its rows, up to most of the window (then it
  // scrolls inside itself, as it does sideways when the columns are wider than the page).
  const cols = columns();
  table = new Tabulator("#lb-table", {
    data: rows, index: "id", columns: cols, maxHeight: "80vh", layout: "fitData",
    renderVertical: "virtual", placeholder: "", initialSort: sorters(state.sort, cols.map((c) => c.field)),
    // A fixed row height and a small buffer of off-screen rows: Tabulator then measures
    // no cells and lays out ~25 rows per redraw instead of ~40 (the cost of a sort/filter).
    rowHeight: rowHeight, renderVerticalBuffer: 4 * rowHeight,
    columnDefaults: {headerSortStartingDir: "desc", headerWordWrap: true},
  });
  table.on("dataSorted", (s) => {
    if (s.length) { state.sort = sortOf(s); writeUrl(); }
  });
  table.on("tableBuilt", () => {
    columnChooser(); applyTips(); applyFilter(); writeUrl();
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
    if (!Object.hasOwn(d.suites, state.suite)) { document.getElementById("lb-count").textContent = "No suite."; return; }
    start();
  });
}
