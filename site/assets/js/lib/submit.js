/* The Submit form without the DOM: the request a submission writes, its path, GitHub's
 * new-file link, a git patch for several files and the equivalent CLI command. Field
 * order, names and formats come from data/submit.json (exported from records/request.py
 * and records/keys.py), so the file equals what `shlepa submit` writes.
 */
import {fill} from "./checks.js";
import {dumpMapping} from "./yaml.js";

/* pydantic's JSON form of a UTC datetime: microseconds only when there are some. */
export function isoTimestamp(date) {
  const iso = date.toISOString();  // 2026-01-02T03:04:05.123Z
  const ms = iso.slice(20, 23);
  return iso.slice(0, 19) + (ms === "000" ? "" : "." + ms + "000") + "Z";
}

/* Round like Python's round(x, 3) for the parameter count in billions. */
export function billions3(total) { return Number((total / 1e9).toFixed(3)); }

/* One request as an ordered mapping in the schema's field order (absent fields left out). */
export function requestData(data, r, now) {
  const at = isoTimestamp(now);
  const values = {
    model: r.model, revision: r.revision, precision: r.precision, model_type: r.modelType,
    weight_type: r.weightType || "original", base_model: r.baseModel || null, base_revision: r.baseRevision || null,
    use_chat_template: Boolean(r.chatTemplate), license: r.license,
    params: r.params === null || r.params === undefined ? null : {float: r.params},
    submitter: r.submitter, submitted_at: at, suite: r.suite || data.names.default_suite,
    checkpoint: r.checkpoint ? {series: r.checkpoint.series, step: r.checkpoint.step, ref: r.checkpoint.ref} : null,
    status: data.request.status, history: [{at, status: data.request.status, reason: data.request.reason}],
  };
  const out = {};
  for (const field of data.request.fields) if (field in values) out[field] = values[field];
  return out;
}

export function requestYaml(data, r, now) { return dumpMapping(requestData(data, r, now)); }

/* keys.py's request_relpath. */
export function requestPath(names, model, revision, precision, suite) {
  const [org, name] = model.split("/");
  const suffix = suite && suite !== names.default_suite ? fill(names.suite_suffix, {suite}) : "";
  return fill(names.request_path, {org, name, revision, precision, suffix});
}

export function submissionBranch(names, model, revision, precision) {
  const [org, name] = model.split("/");
  return fill(names.submission_branch, {org, name, short: revision.slice(0, names.short_sha), precision});
}

export function seriesBranch(names, model, series) {
  const [org, name] = model.split("/");
  return fill(names.series_branch, {org, name, series});
}

/* The queue page's anchor of a request (keys.py's queue_anchor). */
export function queueAnchor(names, model, revision, precision, suite) {
  const rowId = fill(names.evaluation_key, {model, revision: revision.slice(0, names.short_sha), precision, suite});
  return fill(names.queue_anchor, {row_id: rowId});
}

/* GitHub's "create new file" page with the file's name and content filled in. */
export function newFileUrl(repository, branch, path, text) {
  const enc = (s) => encodeURIComponent(s).replace(/%2F/g, "/");
  return "https://github.com/" + repository + "/new/" + enc(branch) + "?filename=" + enc(path) +
    "&value=" + encodeURIComponent(text);
}

/* A patch that `git apply` (or `git am` without the header) turns into the new files. */
export function gitPatch(files) {
  return files.map(({path, text}) => {
    const lines = text.replace(/\n$/, "").split("\n");
    return "diff --git a/" + path + " b/" + path + "\nnew file mode 100644\n--- /dev/null\n+++ b/" + path +
      "\n@@ -0,0 +1," + lines.length + " @@\n" + lines.map((l) => "+" + l).join("\n") + "\n";
  }).join("");
}

/* A word for a POSIX shell (shlex.quote's rule). */
export function shellQuote(s) {
  s = String(s);
  if (s && /^[\w@%+=:,./-]+$/.test(s)) return s;
  return "'" + s.replace(/'/g, "'\"'\"'") + "'";
}

export function command(words) { return words.map(shellQuote).join(" "); }

/* "STEP=REVISION" lines (series.py's SPEC_RE) -> {checkpoints: [{step, ref}], errors: [...]}. */
export function parseCheckpoints(text, specRe) {
  const re = new RegExp(specRe), checkpoints = [], errors = [], seen = new Map();
  text.split("\n").map((l) => l.trim()).filter(Boolean).forEach((line) => {
    const m = re.exec(line);
    if (!m) { errors.push("checkpoint " + line + ": expected STEP=REVISION, e.g. 1000=step_1000 or 1000=<sha>"); return; }
    const step = Number(m[1]);
    if (seen.has(step)) { errors.push("checkpoint step " + step + ": listed twice (" + seen.get(step) + " and " + m[2] + ")"); return; }
    seen.set(step, m[2]);
    checkpoints.push({step, ref: m[2]});
  });
  if (!checkpoints.length && !errors.length) errors.push("list at least one checkpoint, one STEP=REVISION per line");
  return {checkpoints, errors};
}
