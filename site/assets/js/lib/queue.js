/* The queue page's "my submissions" filter without the DOM: matching and the URL state. */

/* A row matches when its submitter contains the query, ignoring case; an empty query matches all. */
export function submitterMatches(submitter, query) {
  const q = String(query || "").trim().toLowerCase();
  return !q || String(submitter || "").toLowerCase().includes(q);
}

export function readSubmitter(search) { return new URLSearchParams(search).get("submitter") || ""; }

/* The query string with ?submitter= set (or dropped when empty), other parameters kept. */
export function writeSubmitter(search, value) {
  const params = new URLSearchParams(search);
  if (String(value || "").trim()) params.set("submitter", String(value).trim()); else params.delete("submitter");
  const qs = params.toString();
  return qs ? "?" + qs : "";
}
