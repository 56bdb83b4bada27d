/* The leaderboard's view state and its URL query string (pure: node imports it). */

export const LISTS = ["type", "precision", "weight", "size", "show", "hidden", "pin"];
export const FLAGS = ["norm", "avgvis", "rankf"];
export const DEFAULT_SORT = "avg:desc";

/** The view nobody changed: everything shown but the kinds and columns `meta` hides. */
export function defaults(data) {
  const m = data.meta;
  return {
    q: "", suite: data.default_suite, norm: false, avgvis: false, rankf: false,
    type: m.model_types.map((t) => t.key), precision: m.precisions.slice(), weight: m.weight_types.slice(),
    size: m.size_bands.map((b) => b.key).concat([m.unknown_size.key]),
    show: m.show.filter((s) => s.shown).map((s) => s.key),
    hidden: m.columns.filter((c) => !c.shown).map((c) => c.field),
    pin: [],  // row ids pinned to the top of the table, to compare them side by side
    sort: DEFAULT_SORT,
  };
}

/** The state a query string (`location.search`) describes; unknown suites fall back to the default. */
export function readState(search, data) {
  const s = defaults(data), p = new URLSearchParams(search);
  if (p.has("search")) s.q = p.get("search");
  if (p.has("suite") && Object.hasOwn(data.suites, p.get("suite"))) s.suite = p.get("suite");
  FLAGS.forEach((k) => { if (p.has(k)) s[k] = p.get(k) === "1"; });
  LISTS.forEach((k) => { if (p.has(k)) s[k] = p.get(k) ? p.get(k).split(",") : []; });
  if (p.has("sort")) s.sort = p.get("sort");
  return s;
}

/** The query string of a state (without "?"): only what differs from the defaults. */
export function writeState(state, data) {
  const d = defaults(data), p = new URLSearchParams();
  if (state.q) p.set("search", state.q);
  if (state.suite !== d.suite) p.set("suite", state.suite);
  FLAGS.forEach((k) => { if (state[k]) p.set(k, "1"); });
  LISTS.forEach((k) => { if (state[k].join(",") !== d[k].join(",")) p.set(k, state[k].join(",")); });
  if (state.sort !== d.sort) p.set("sort", state.sort);
  return p.toString();
}

/** "field:dir" as Tabulator's sorters; any direction but "asc" is "desc". With `fields`, a field
 * that is not one of the table's columns (a hand-edited link: `sort=__proto__:asc`) sorts as the
 * default does instead of breaking the table. */
export function sorters(sort, fields) {
  let parts = String(sort).split(":");
  if (fields && !fields.includes(parts[0])) parts = DEFAULT_SORT.split(":");
  return [{column: parts[0], dir: parts[1] === "asc" ? "asc" : "desc"}];
}
