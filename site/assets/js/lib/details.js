/* Per-sample details: reading the rows the evaluation writes, filtering and paging (pure:
 * node imports it; model.js draws the result). */

/** A number as people read it: no scientific notation, at most 4 significant decimals,
 * thousands separated; a tiny non-zero value is "< 0.0001". */
export function formatNumber(v) {
  if (typeof v !== "number" || !isFinite(v)) return v === null || v === undefined ? "–" : String(v);
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a < 0.0001) return (v < 0 ? "> -" : "< ") + "0.0001";
  const digits = a >= 1000 ? 0 : (a >= 100 ? 1 : (a >= 1 ? 2 : 4));
  return v.toLocaleString("en-US", {maximumFractionDigits: digits, minimumFractionDigits: 0});
}

/** A share (0–1) in percent: "99.8 %", "0.18 %", "< 0.01 %". */
export function formatPercent(p) {
  if (typeof p !== "number" || !isFinite(p)) return "–";
  const v = 100 * p;
  if (v === 0) return "0 %";
  if (v < 0.01) return "< 0.01 %";
  return v.toFixed(v >= 10 ? 1 : 2) + " %";
}

/** A per-sample metric value. `binary`: the metric is a 0/1 score (the details index says
 * which are), shown as ✓/✗; numbers via formatNumber; perplexity's [log-likelihood, count]
 * pairs in words ("-17,497 log-likelihood over 1,093 words"). */
export function formatMetric(v, binary, name) {
  if (typeof v === "boolean") return v ? "✓" : "✗";
  if (binary && (v === 1 || v === 0)) return v === 1 ? "✓" : "✗";
  if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === "number")) {
    const unit = /word/.test(name || "") ? "words" : (/byte/.test(name || "") ? "bytes" : "tokens");
    return formatNumber(v[0]) + " log-likelihood over " + formatNumber(v[1]) + " " + unit;
  }
  if (Array.isArray(v)) return v.map((x) => formatMetric(x, binary, name)).join(" / ");
  if (typeof v === "number") return formatNumber(v);
  return v === null || v === undefined ? "–" : String(v);
}

/** "1–20 of 1,172" (an en dash), "0 of 0" when nothing is left. */
export function pageText(start, count, total) {
  const n = (x) => x.toLocaleString("en-US");
  return total && count ? n(start + 1) + "–" + n(start + count) + " of " + n(total) : "0 of " + n(total);
}

/** The few-shot examples before the question: lm-eval joins them with a blank line. */
export function splitPrompt(prompt) {
  const text = typeof prompt === "string" ? prompt : (prompt === null || prompt === undefined ? "" : JSON.stringify(prompt));
  const at = text.lastIndexOf("\n\n");
  return at < 0 ? {preamble: "", question: text} : {preamble: text.slice(0, at), question: text.slice(at + 2)};
}

function goldIndexes(target, choices) {
  const one = (t) => {
    if (typeof t === "number" && Number.isInteger(t)) return t;
    if (typeof t === "string" && /^\d+$/.test(t.trim())) return Number(t);
    if (typeof t === "string") {
      const same = choices.filter((c) => c.trim() === t.trim()).length;
      if (same > 1) return -1;  // WinoGrande: every choice is the same continuation
      const i = choices.findIndex((c) => c.trim() === t.trim());
      if (i >= 0) return i;
      if (/^[A-Z]$/.test(t.trim())) return t.trim().charCodeAt(0) - 65;
    }
    return -1;
  };
  const list = Array.isArray(target) ? target.map(one) : [one(target)];
  return list.filter((i) => i >= 0 && i < choices.length);
}

function logLikelihoods(response, n) {
  // lm-eval's filtered_resps of a multiple-choice sample: [[log-likelihood, is_greedy], ...] or [ll, ...].
  if (!Array.isArray(response) || response.length !== n) return null;
  const ll = response.map((r) => (Array.isArray(r) ? r[0] : r));
  return ll.every((x) => typeof x === "number" && isFinite(x)) ? ll : null;
}

function asText(v) {
  if (v === null || v === undefined) return "";
  if (typeof v === "string") return v;
  if (Array.isArray(v) && v.length === 1 && typeof v[0] === "string") return v[0];
  return JSON.stringify(v);
}

/** One details row as the viewer shows it. The only function that knows the row format
 * (today the evaluation's: doc_id, task, prompt, choices, target, response = lm-eval's
 * filtered_resps, filter, metrics); a compact format later changes only this.
 *
 * Multiple choice: {kind: "choice", choices: [{text, ll, prob, pick, gold}], pick, gold}
 * (the pick is the highest log-likelihood, per byte of the choice when the benchmark
 * scores acc_norm); `sameText`: the choices differ only in their contexts (WinoGrande), which
 * the row does not hold. Generation: {kind: "generation", generation, answer, target, matched}.
 * Perplexity (the model scored a text): {kind: "loglikelihood", loglikelihood, text}.
 * `metric`: the benchmark's main metric (the index's); `right`: true, false or null. */
export function readRow(raw, metric) {
  const metrics = raw.metrics && typeof raw.metrics === "object" ? raw.metrics : {};
  const {preamble, question} = splitPrompt(raw.prompt);
  const main = metric in metrics ? metrics[metric] : undefined;
  const right = main === 1 || main === true ? true : (main === 0 || main === false ? false : null);
  const row = {doc_id: raw.doc_id, task: raw.task || "", preamble, question, metrics, right, filter: raw.filter || ""};
  const choices = Array.isArray(raw.choices) ? raw.choices.map(String) : [];
  const ll = choices.length ? logLikelihoods(raw.response, choices.length) : null;
  if (choices.length) {
    const gold = goldIndexes(raw.target, choices);
    let pick = -1, probs = null;
    if (ll) {
      const norm = metric === "acc_norm" || (metric === undefined && "acc_norm" in metrics);
      const score = ll.map((x, i) => (norm ? x / Math.max(1, new TextEncoder().encode(choices[i]).length) : x));
      pick = score.indexOf(Math.max.apply(null, score));
      const top = Math.max.apply(null, ll), ex = ll.map((x) => Math.exp(x - top)), sum = ex.reduce((a, b) => a + b, 0);
      probs = ex.map((x) => x / sum);
    }
    const sameText = choices.length > 1 && choices.every((c) => c === choices[0]);
    return Object.assign(row, {kind: "choice", pick, gold, sameText, perByte: !!ll && (metric === "acc_norm" || (metric === undefined && "acc_norm" in metrics)), choices: choices.map((text, i) => ({
      text, ll: ll ? ll[i] : null, prob: probs ? probs[i] : null, pick: i === pick, gold: gold.indexOf(i) >= 0}))});
  }
  const scores = Array.isArray(raw.response) ? raw.response : [raw.response];
  if (raw.response !== null && raw.response !== undefined && scores.length && scores.every((x) => typeof x === "number")) {
    // loglikelihood_rolling (perplexity): the model scored the text itself.
    return Object.assign(row, {kind: "loglikelihood", loglikelihood: scores.length === 1 ? scores[0] : scores,
      text: asText(raw.target) || question});
  }
  const answer = asText(raw.response);
  return Object.assign(row, {kind: "generation", generation: raw.generation === undefined ? null : asText(raw.generation),
    answer, target: asText(raw.target), matched: right});
}

/** The rows (positions in the benchmark) a filter keeps: `task` ("" for all) and `wrongOnly`.
 * `rowsIndex`: {tasks: [[task, title]], task_runs: [[task number, count]], right: "10-…"}. */
export function selectRows(rowsIndex, task, wrongOnly) {
  const keep = [];
  const want = task ? rowsIndex.tasks.findIndex((t) => t[0] === task) : -1;
  let pos = 0;
  rowsIndex.task_runs.forEach(([t, count]) => {
    for (let i = pos; i < pos + count; i++) {
      if ((want < 0 || t === want) && (!wrongOnly || rowsIndex.right[i] === "0")) keep.push(i);
    }
    pos += count;
  });
  return keep;
}

/* -- A details file read from the details store (leaderboard.yaml `details:`) ------------------
 * The model page names one file (gzip'd JSON Lines, one row per sample); the viewer fetches it,
 * and these functions build from its rows what the build's split_details (src/shlepa/site/
 * build.py) builds for details kept beside the page: the per-benchmark index, the filter index
 * and the pages. The titles come from data/details-meta.json (src/shlepa/site/meta.py). */

/** A metric key as people read it ("acc_norm,none" -> "accuracy (length-normalized)"), from the
 * site's METRIC_TITLES and FILTER_TITLES (meta.py's metric_title, on the same data). */
export function metricTitle(key, titles) {
  const text = String(key), at = text.indexOf(",");
  const name = at < 0 ? text : text.slice(0, at), filt = at < 0 ? "" : text.slice(at + 1);
  const mt = (titles && titles.metric_titles) || {}, ft = (titles && titles.filter_titles) || {};
  const title = Object.hasOwn(mt, name) ? mt[name] : name.replace(/_/g, " ");
  const f = Object.hasOwn(ft, filt) ? ft[filt] : filt.replace(/_/g, " ").replace(/-/g, " ");
  return f ? title + ", " + f : title;
}

/** A row's task as the viewer names it: MMLU subjects in words (meta.py's task_title). */
export function taskTitle(task) {
  const t = String(task), bare = t.startsWith("shlepa_") ? t.slice(7) : t;
  if (!bare.startsWith("mmlu_")) return t;
  const words = bare.slice(5).replace(/_/g, " ").trim();
  return words.slice(0, 1).toUpperCase() + words.slice(1);
}

function right(v) {
  if (typeof v === "boolean") return v ? "1" : "0";
  if (v === 0 || v === 1) return v === 1 ? "1" : "0";
  return "-";
}

const BENCH_KEY = /^[a-z][a-z0-9_]{0,39}$/;  // records/suite.py KEY_RE

/** From a details file's rows: {index, rowsIndex, pages}, as split_details writes them for a page.
 * `benches`: {key: {title, metric}} of the suite; `titles`: data/details-meta.json. */
export function indexRows(rows, benches, titles, pageRows = 20) {
  const by = new Map();
  rows.forEach((row) => {
    const b = String(row.benchmark);
    if (!BENCH_KEY.test(b)) return;
    if (!by.has(b)) by.set(b, []);
    // Every field but the benchmark: full rows (format 1) keep their text, compact rows (format 2)
    // their position `s` in the shared text, which joinRow reads.
    const item = {};
    Object.keys(row).forEach((k) => { if (k !== "benchmark") item[k] = row[k]; });
    by.get(b).push(item);
  });
  const index = {}, rowsIndex = {}, pages = {};
  by.forEach((items, b) => {
    const info = (benches && Object.hasOwn(benches, b)) ? benches[b] : null;
    const names = [];
    items.forEach((it) => Object.keys(it.metrics || {}).forEach((m) => { if (names.indexOf(m) < 0) names.push(m); }));
    const metric = info ? info.metric : names[0];
    const taskIds = new Map(), runs = [];
    items.forEach((it) => {
      const t = String(it.task);
      if (!taskIds.has(t)) taskIds.set(t, taskIds.size);
      const id = taskIds.get(t);
      if (runs.length && runs[runs.length - 1][0] === id) runs[runs.length - 1][1] += 1; else runs.push([id, 1]);
    });
    const chunks = [];
    for (let i = 0; i < items.length; i += pageRows) chunks.push(items.slice(i, i + pageRows));
    pages[b] = chunks;
    const metricTitles = {};
    names.forEach((m) => { metricTitles[m] = metricTitle(m, titles); });
    index[b] = {title: info ? info.title : b, rows: items.length, pages: chunks.length, page_rows: pageRows, metric,
      metric_titles: metricTitles, binary_metrics: names.filter((m) => items.every((it) => right((it.metrics || {})[m]) !== "-"))};
    rowsIndex[b] = {tasks: Array.from(taskIds.keys()).map((t) => [t, taskTitle(t)]), task_runs: runs,
      right: items.map((it) => right((it.metrics || {})[metric])).join("")};
  });
  return {index, rowsIndex, pages};
}

/** The rows of a details file's bytes: gzip'd (as every store holds them) or already inflated
 * (a server that sent Content-Encoding: gzip). Blank lines are skipped. */
export async function readDetailsFile(buffer) {
  const bytes = new Uint8Array(buffer);
  let text;
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    text = await new Response(stream).text();
  } else {
    text = new TextDecoder().decode(bytes);
  }
  return text.split("\n").filter((line) => line.trim()).map((line) => JSON.parse(line));
}

/** A details file's lines as {shared, rows}: format 2 (records/details.py) starts with a header
 * naming each task's shared text version; a format-1 file is rows only (shared: null). */
export function splitHeader(lines) {
  const first = lines.length ? lines[0] : null;
  if (first && typeof first === "object" && first.schema === "shlepa.details/2") {
    const shared = first.shared && typeof first.shared === "object" ? first.shared : {};
    return {shared, rows: lines.slice(1)};
  }
  return {shared: null, rows: lines};
}

/** Which shared text page a compact row's text is on: {task, version, page}, or null when the
 * row carries its text itself (a format-1 page) or names no text. `shared`: the page's
 * {task: version hash}; `sharedRows`: documents per shared page. */
export function sharedRef(row, shared, sharedRows) {
  if (!row || "prompt" in row || !Number.isInteger(row.s)) return null;
  const version = shared && Object.prototype.hasOwnProperty.call(shared, row.task) ? shared[row.task] : null;
  return version ? {task: row.task, version, page: Math.floor(row.s / sharedRows)} : null;
}

/** A compact details row joined with its shared text page (records/details.py, format 2): the
 * full row readRow reads (prompt = the page's preamble + a blank line + the question). The one
 * place the viewer knows the split; a row that already has its prompt comes back as it is. */
export function joinRow(row, textPage, sharedRows) {
  if (!row || "prompt" in row) return row;
  const entry = textPage && Array.isArray(textPage.rows) && Number.isInteger(row.s) ? textPage.rows[row.s % sharedRows] : null;
  const full = Object.assign({}, row);
  delete full.s;
  if (!entry) return Object.assign(full, {prompt: "", choices: [], target: null});
  const pre = Number.isInteger(entry.pre) && entry.pre >= 0 ? (textPage.preambles || [])[entry.pre] : undefined;
  const question = entry.question === null || entry.question === undefined ? "" : String(entry.question);
  return Object.assign(full, {prompt: pre === undefined ? question : pre + "\n\n" + question,
    choices: Array.isArray(entry.choices) ? entry.choices : [], target: entry.target === undefined ? null : entry.target});
}
