/* The leaderboard's pure logic: search syntax, size bands, averages, ranks and the row
 * filter. No DOM here (node's test runner imports it: tests/js/board.test.mjs). The
 * constants (model types, size bands, ...) come from the `meta` block of
 * data/leaderboard.json, written by the build from the Python side (shlepa.site.meta). */

export const SEARCH_FIELDS = ["license", "type", "precision", "arch"];
const FIELD_RE = new RegExp("^(" + SEARCH_FIELDS.join("|") + ")\\s*:\\s*(.*)$");

/** Search: "name; name; license: mit; type: chat; precision: bfloat16; arch: llama".
 * Lower-cased; parts without a known `field:` prefix are names. */
export function parseQuery(q) {
  const out = {names: []};
  SEARCH_FIELDS.forEach((f) => { out[f] = []; });
  String(q || "").split(";").forEach((part) => {
    const t = part.trim().toLowerCase();
    if (!t) return;
    const m = FIELD_RE.exec(t);
    if (m) { if (m[2]) out[m[1]].push(m[2].trim()); } else out.names.push(t);
  });
  return out;
}

/** The key of the band a parameter count (billions) falls in: the first whose `max` it
 * does not exceed (`max: null` is open-ended); `unknown` when the count is missing. */
export function sizeBand(params, bands, unknown = "unknown") {
  if (params === null || params === undefined) return unknown;
  const band = bands.find((b) => b.max === null || b.max === undefined || params <= b.max);
  return band ? band.key : unknown;
}

function present(v) { return v !== null && v !== undefined; }

/** The benchmark keys the average runs over: the suite's average keys (never a perplexity
 * or a bias score), narrowed to `shown` (a list of keys) when given. */
export function averageKeys(suite, shown = null) {
  const keys = suite.average_keys || [];
  return shown ? keys.filter((k) => shown.indexOf(k) >= 0) : keys.slice();
}

/** The mean of `values` over `keys`, rounded to 2 decimals, missing values left out:
 * {avg, partial}; avg is null when no key has a value, partial when some key has none. */
export function average(values, keys) {
  let sum = 0, n = 0;
  for (const k of keys) {
    const v = values[k];
    if (present(v)) { sum += v; n++; }
  }
  return {avg: n ? Math.round(sum / n * 100) / 100 : null, partial: n < keys.length};
}

/** Puts the shown scores (raw, or normalized with `norm`) into each row as `b_<key>` and
 * the average over `keys` into `avg` and `partial`. With `stored`, the average is the
 * row's own (`average` or `average_norm`, from the unrounded scores by the build) where it
 * has one. Changes the rows in place. */
export function deriveScores(rows, benchKeys, keys, norm, stored = false) {
  const src = norm ? "norm" : "scores", own = norm ? "average_norm" : "average";
  for (const r of rows) {
    const vals = r[src] || {};
    for (const k of benchKeys) r["b_" + k] = vals[k];
    const a = average(vals, keys);
    r.avg = stored && present(r[own]) ? r[own] : a.avg;
    r.partial = a.partial;
  }
}

/** Best average first, missing averages last; ties keep their order. */
export function byAverage(a, b) {
  const x = a.avg, y = b.avg;
  if (!present(x) || !present(y)) return present(x) === present(y) ? 0 : (present(x) ? -1 : 1);
  return y - x;
}

/** Writes ranks 1..N of `rows` (by average, best first) into `field` of each row. */
export function assignRanks(rows, field = "rank") {
  rows.slice().sort(byAverage).forEach((r, i) => { r[field] = i + 1; });
}

/** Renumbers `rows` 1..N into `field` in the order of their `by` rank (the board's). */
export function renumber(rows, by = "rank_all", field = "rank") {
  rows.slice().sort((a, b) => a[by] - b[by]).forEach((r, i) => { r[field] = i + 1; });
}

/** Fields the filter and the search read, computed once per row. */
export function prepareRow(r, meta) {
  const symbols = typeSymbols(meta);
  r.symbol = symbols[r.type] || "";
  r.lname = String(r.model).toLowerCase();
  r.llicense = String(r.license || "").toLowerCase();
  r.larch = String(r.arch || "").toLowerCase();
  r.band = sizeBand(r.params, meta.size_bands, meta.unknown_size.key);
  // The build's ranks (per suite, by the average and by the normalized average): the
  // table shows these unless it averages over the visible columns only.
  if (r.board_rank === undefined) { r.board_rank = r.rank; r.board_rank_norm = r.rank_norm; }
  return r;
}

/** {model type: symbol} from the meta block. */
export function typeSymbols(meta) {
  const out = {};
  meta.model_types.forEach((t) => { out[t.key] = t.symbol; });
  return out;
}

/** Whether a prepared row is in the view of `state` (filters) and `q` (parsed search). */
export function matches(r, state, q, symbols) {
  if (r.suite !== state.suite) return false;
  if (state.pin && state.pin.indexOf(r.id) >= 0) return true;  // pinned rows stay in the view
  if (state.type.indexOf(r.type) < 0 || state.precision.indexOf(r.precision) < 0) return false;
  if (state.weight.indexOf(r.weight_type) < 0 || state.size.indexOf(r.band) < 0) return false;
  if (r.flag && state.show.indexOf("flagged") < 0) return false;
  if (r.merged && state.show.indexOf("merged") < 0) return false;
  if (r.moe && state.show.indexOf("moe") < 0) return false;
  if (!r.available && state.show.indexOf("unavailable") < 0) return false;
  if (r.harness && state.show.indexOf("harness") < 0) return false;
  if (q.names.length && !q.names.some((n) => r.lname.indexOf(n) >= 0)) return false;
  if (q.license.length && q.license.indexOf(r.llicense) < 0) return false;
  if (q.type.length && !q.type.some((t) => r.type.indexOf(t) === 0 || symbols[r.type] === t)) return false;
  if (q.precision.length && q.precision.indexOf(r.precision) < 0) return false;
  if (q.arch.length && !q.arch.some((a) => r.larch.indexOf(a) >= 0)) return false;
  return true;
}

/** Scores and averages of the current suite's rows and their board ranks (`rank_all`,
 * 1..N within the suite); rows of other suites are left alone. Returns the suite's rows.
 * Over all the suite's average keys the build's averages and ranks hold (from unrounded
 * scores: the table, the CSV and the JSON agree); over the visible columns only
 * (`state.avgvis`, when some average key is hidden) they are computed here, by the same
 * rule: the shown average keys only, best first, ties in the board's order. */
export function deriveSuite(rows, data, state) {
  const suite = data.suites[state.suite];
  const benchKeys = suite.benchmarks.map((b) => b.key);
  const all = averageKeys(suite);
  const shown = state.avgvis ? averageKeys(suite, benchKeys.filter((k) => state.hidden.indexOf("b_" + k) < 0)) : all;
  const own = shown.length === all.length;
  const suiteRows = rows.filter((r) => r.suite === state.suite);
  const stored = state.norm ? "board_rank_norm" : "board_rank";
  suiteRows.sort((a, b) => (a.board_rank ?? 0) - (b.board_rank ?? 0));  // the build's order: ties as there
  deriveScores(suiteRows, benchKeys, shown, state.norm, own);
  if (own && suiteRows.every((r) => present(r[stored]))) suiteRows.forEach((r) => { r.rank_all = r[stored]; });
  else assignRanks(suiteRows, "rank_all");
  return suiteRows;
}

/** The whole view: deriveSuite, then filterView. Returns {suiteRows, visible}. */
export function computeView(rows, data, state) {
  return filterView(rows, deriveSuite(rows, data, state), data, state);
}

/** Which rows are visible (`_vis`, and the `visible` list in display order of the data),
 * and their `rank`: the board rank, or with `state.rankf` 1..N within the visible rows
 * (in the order of the board rank). Pinned rows are always in the view. */
export function filterView(rows, suiteRows, data, state) {
  const q = parseQuery(state.q), symbols = typeSymbols(data.meta), visible = [];
  for (const r of rows) {
    r._vis = matches(r, state, q, symbols);
    if (r._vis) visible.push(r);
  }
  if (state.rankf) renumber(visible, "rank_all", "rank");
  else suiteRows.forEach((r) => { r.rank = r.rank_all; });
  return {suiteRows, visible};
}
