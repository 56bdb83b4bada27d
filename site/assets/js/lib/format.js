/* Formatting and exports (pure: node imports it). */

/** A score as shown in a cell: two decimals, "–" when missing. */
export function formatScore(v) {
  return v === null || v === undefined ? "–" : Number(v).toFixed(2);
}

/** A model page value: numbers with two decimals, "–" when missing, anything else as text. */
export function formatValue(v) {
  return v === null || v === undefined ? "–" : (typeof v === "number" ? v.toFixed(2) : String(v));
}

/** Parameters in billions as a cell shows them: three significant digits (6.738415616 -> "6.74",
 * a 395 K-parameter test model 0.000395), empty when unknown; the downloads keep the full value. */
export function formatParams(v) {
  return v === null || v === undefined || v === "" ? "" : String(Number(Number(v).toPrecision(3)));
}

/** One CSV field: quoted when needed, and a leading =, +, -, @, tab or CR defused with ' so a
 * spreadsheet never runs it as a formula. */
export function csvCell(v) {
  if (v === null || v === undefined) return "";
  let s = String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;
  return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}

/** Objects as CSV text: the first object's keys are the header; `empty` when there are no rows. */
export function csvText(objects, empty = ["rank", "model"]) {
  const keys = objects.length ? Object.keys(objects[0]) : empty;
  const lines = [keys.join(",")].concat(objects.map((o) => keys.map((k) => csvCell(o[k])).join(",")));
  return lines.join("\n") + "\n";
}

/** A Hugging Face model URL, each path segment encoded. */
export function hubUrl(base, model) {
  return base + String(model).split("/").map(encodeURIComponent).join("/");
}

/** Only http(s) links from data become hrefs. */
export function isHttpUrl(url) {
  return /^https?:\/\//.test(url || "");
}

function isEmpty(v) { return v === null || v === undefined || v === ""; }

/** Tabulator sorter: numbers compared directly, empty values last in either direction. */
export function numSorter(a, b, _ar, _br, _col, dir) {
  const ae = isEmpty(a), be = isEmpty(b);
  if (ae || be) return ae === be ? 0 : (ae ? 1 : -1) * (dir === "asc" ? 1 : -1);
  return a - b;
}

/** {value: ordinal} of the distinct non-empty values, ordered ignoring case (then exactly). */
export function ordinals(values) {
  const seen = new Map();
  values.forEach((v) => { if (!isEmpty(v) && !seen.has(v)) seen.set(v, String(v).toLowerCase()); });
  const keys = Array.from(seen.keys()).sort((x, y) => {
    const a = seen.get(x), b = seen.get(y);
    return a < b ? -1 : (a > b ? 1 : (x < y ? -1 : (x > y ? 1 : 0)));
  });
  return new Map(keys.map((k, i) => [k, i]));
}

/** Tabulator sorter for strings by their ordinal (`ord()` gives the map, made on first use). */
export function ordinalSorter(ord) {
  return function (a, b, _ar, _br, _col, dir) {
    const ae = isEmpty(a), be = isEmpty(b);
    if (ae || be) return ae === be ? 0 : (ae ? 1 : -1) * (dir === "asc" ? 1 : -1);
    const m = ord();
    return m.get(a) - m.get(b);
  };
}

/** How long ago, in the largest whole unit, as the build writes it (shlepa.records.request.format_age):
 * "45 s", "12 min", "3 h", "2 d"; a time in the future counts as 0 s. */
export function formatAge(ms) {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["min", 60]]) {
    if (seconds >= size) return Math.floor(seconds / size) + " " + unit;
  }
  return seconds + " s";
}
