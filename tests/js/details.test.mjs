import assert from "node:assert/strict";
import {test} from "node:test";

import {formatMetric, formatNumber, formatPercent, indexRows, joinRow, metricTitle, pageText, readDetailsFile, readRow,
  selectRows, sharedRef, splitHeader, splitPrompt, taskTitle} from "../../site/assets/js/lib/details.js";

test("numbers without scientific notation; 0/1 scores as marks", () => {
  assert.equal(formatNumber(9.6e-18), "< 0.0001");
  assert.equal(formatNumber(-38.8312), "-38.83");
  assert.equal(formatNumber(0.123456), "0.1235");
  assert.equal(formatNumber(15133.17), "15,133");
  assert.equal(formatMetric(1, true), "✓");
  assert.equal(formatMetric(0.0, true), "✗");
  assert.equal(formatMetric(0.0, false), "0");  // a rate that happens to be 0
  assert.equal(formatMetric(true), "✓");
  assert.equal(formatMetric([-15133.17, 1093], false, "word_perplexity"), "-15,133 log-likelihood over 1,093 words");
  assert.equal(formatPercent(0.9981), "99.8 %");
  assert.equal(formatPercent(0.001837), "0.18 %");
  assert.equal(formatPercent(1e-9), "< 0.01 %");
});

test("paging text says where you are", () => {
  assert.equal(pageText(0, 20, 1172), "1–20 of 1,172");
  assert.equal(pageText(1160, 12, 1172), "1,161–1,172 of 1,172");
  assert.equal(pageText(0, 0, 0), "0 of 0");
});

test("the few-shot preamble is split from the question", () => {
  assert.deepEqual(splitPrompt("Q: 1+1?\nA: 2\n\nQ: 2+2?\nA:"), {preamble: "Q: 1+1?\nA: 2", question: "Q: 2+2?\nA:"});
  assert.deepEqual(splitPrompt("Q: only\nA:"), {preamble: "", question: "Q: only\nA:"});
});

test("a multiple-choice row: every choice with its log-likelihood and probability, the pick and the gold", () => {
  const row = readRow({doc_id: 3, task: "arc_challenge", prompt: "shot\n\nQuestion?", choices: [" a", " bbbbbbbb", " c"],
    target: 1, response: [[-5.0, false], [-6.0, false], [-9.0, false]], filter: "none", metrics: {acc: 1.0, acc_norm: 1.0}}, "acc_norm");
  assert.equal(row.kind, "choice");
  assert.equal(row.preamble, "shot");
  assert.equal(row.question, "Question?");
  assert.equal(row.pick, 1);  // acc_norm: per byte, " bbbbbbbb" wins
  assert.equal(row.perByte, true);
  assert.deepEqual(row.gold, [1]);
  assert.equal(row.right, true);
  assert.ok(Math.abs(row.choices.reduce((a, c) => a + c.prob, 0) - 1) < 1e-9);
  assert.ok(row.choices[0].prob > row.choices[1].prob);
  const acc = readRow({choices: ["x", "y"], target: "0", response: [[-1, true], [-2, false]], metrics: {acc: 0}}, "acc");
  assert.equal(acc.pick, 0);
  assert.deepEqual(acc.gold, [0]);
  assert.equal(acc.right, false);
  const wino = readRow({choices: [" owner.", " owner."], target: "owner.", response: [[-8, false], [-7, false]], metrics: {acc: 1}}, "acc");
  assert.equal(wino.sameText, true);
  assert.deepEqual(wino.gold, []);  // not guessed from a text every choice has
  assert.equal(wino.pick, 1);
});

test("a generation row: the answer beside the target and whether it matched", () => {
  const row = readRow({doc_id: 0, task: "gsm8k", prompt: "Q?", choices: [], target: "42", response: ["7"],
    filter: "strict-match", metrics: {exact_match: 0.0}}, "exact_match");
  assert.equal(row.kind, "generation");
  assert.equal(row.answer, "7");
  assert.equal(row.target, "42");
  assert.equal(row.matched, false);
  const mem = readRow({doc_id: 0, prompt: "the cat", target: "sat", response: "sat", metrics: {memorized: 1, match_rate: 1}}, "memorized");
  assert.equal(mem.answer, "sat");
  assert.equal(mem.matched, true);
});

test("filters keep rows by task and wrong answers", () => {
  const index = {tasks: [["mmlu_a", "A"], ["mmlu_b", "B"]], task_runs: [[0, 3], [1, 2]], right: "10-01"};
  assert.deepEqual(selectRows(index, "", false), [0, 1, 2, 3, 4]);
  assert.deepEqual(selectRows(index, "mmlu_b", false), [3, 4]);
  assert.deepEqual(selectRows(index, "", true), [1, 3]);
  assert.deepEqual(selectRows(index, "mmlu_a", true), [1]);
});

test("a perplexity row: the text and its log-likelihood, not an answer beside a target", () => {
  const row = readRow({doc_id: 0, task: "wikitext", prompt: "", choices: [], target: " = Robert Boulter =",
    response: [-15133.17], metrics: {word_perplexity: [-15133.17, 1093]}}, "word_perplexity");
  assert.equal(row.kind, "loglikelihood");
  assert.equal(row.loglikelihood, -15133.17);
  assert.equal(row.text, " = Robert Boulter =");
  assert.equal(row.right, null);
});

test("a details file from the store: pages, filters and titles as the build makes them", async () => {
  const {gzipSync} = await import("node:zlib");
  const rows = [
    {benchmark: "mmlu", task: "mmlu_high_school_physics", doc_id: 0, prompt: "Q0", choices: ["a", "b"], target: 0,
      response: [[-1, true], [-2, false]], metrics: {acc: 1}},
    {benchmark: "mmlu", task: "mmlu_high_school_physics", doc_id: 1, prompt: "Q1", choices: ["a", "b"], target: 1,
      response: [[-1, true], [-2, false]], metrics: {acc: 0}},
    {benchmark: "mmlu", task: "mmlu_anatomy", doc_id: 0, prompt: "Q2", choices: ["a", "b"], target: 0,
      response: [[-1, true], [-2, false]], metrics: {acc: 1}},
    {benchmark: "gsm8k", task: "gsm8k", doc_id: 0, prompt: "Q", choices: [], target: "4", response: ["4"],
      filter: "strict-match", metrics: {exact_match: 1}},
    {benchmark: "../../x", task: "t", doc_id: 0, metrics: {}},  // never a benchmark: skipped, as the build does
  ];
  const file = gzipSync(Buffer.from(rows.map((r) => JSON.stringify(r)).join("\n") + "\n"));
  const read = await readDetailsFile(file.buffer.slice(file.byteOffset, file.byteOffset + file.length));
  assert.equal(read.length, 5);
  const plain = await readDetailsFile(new TextEncoder().encode(JSON.stringify(rows[0]) + "\n\n").buffer);
  assert.deepEqual(plain, [rows[0]]);  // a server that already inflated it

  const titles = {metric_titles: {acc: "accuracy", exact_match: "exact match"}, filter_titles: {none: ""}};
  const built = indexRows(read, {mmlu: {title: "MMLU", metric: "acc"}}, titles, 2);
  assert.deepEqual(Object.keys(built.index), ["mmlu", "gsm8k"]);
  assert.deepEqual(built.index.mmlu, {title: "MMLU", rows: 3, pages: 2, page_rows: 2, metric: "acc",
    metric_titles: {acc: "accuracy"}, binary_metrics: ["acc"]});
  assert.equal(built.index.gsm8k.title, "gsm8k");  // not in the suite: its key
  assert.equal(built.index.gsm8k.metric, "exact_match");
  assert.deepEqual(built.rowsIndex.mmlu, {tasks: [["mmlu_high_school_physics", "High school physics"],
    ["mmlu_anatomy", "Anatomy"]], task_runs: [[0, 2], [1, 1]], right: "101"});
  assert.deepEqual(built.pages.mmlu.map((p) => p.map((r) => r.prompt)), [["Q0", "Q1"], ["Q2"]]);
  assert.deepEqual(selectRows(built.rowsIndex.mmlu, "", true), [1]);
  assert.equal(readRow(built.pages.gsm8k[0][0], built.index.gsm8k.metric).matched, true);
});

test("metric and task names read as the build's meta.py writes them", () => {
  const titles = {metric_titles: {acc_norm: "accuracy (length-normalized)", exact_match: "exact match"},
    filter_titles: {none: "", "strict-match": "strict match"}};
  assert.equal(metricTitle("acc_norm,none", titles), "accuracy (length-normalized)");
  assert.equal(metricTitle("exact_match,strict-match", titles), "exact match, strict match");
  assert.equal(metricTitle("word_perplexity", titles), "word perplexity");
  assert.equal(metricTitle("constructor", titles), "constructor");  // never a prototype's property
  assert.equal(taskTitle("shlepa_mmlu_college_biology"), "College biology");
  assert.equal(taskTitle("arc_challenge"), "arc_challenge");
});

test("a compact row joined with its shared text reads like the full row", () => {
  const page = {shared: {arc_challenge: "0123456789abcdef"}, rows: [{doc_id: 41, task: "arc_challenge", s: 41,
    response: [[-5.0, false], [-4.0, true]], filter: "none", metrics: {acc: 1.0}}]};
  const ref = sharedRef(page.rows[0], page.shared, 20);
  assert.deepEqual(ref, {task: "arc_challenge", version: "0123456789abcdef", page: 2});
  const text = {preambles: ["Q: 1?\nA: x"], rows: [{doc_id: 41, pre: 0, question: "Q: 2?\nA:", choices: [" a", " b"], target: 1}]};
  text.rows.unshift(...Array(1).fill({doc_id: 40, pre: -1, question: "other", choices: [], target: 0}));
  const full = joinRow(page.rows[0], text, 2);  // position 41 of pages of 2 documents: the second row
  assert.deepEqual(full, {doc_id: 41, task: "arc_challenge", response: [[-5.0, false], [-4.0, true]], filter: "none",
    metrics: {acc: 1.0}, prompt: "Q: 1?\nA: x\n\nQ: 2?\nA:", choices: [" a", " b"], target: 1});
  const shown = readRow(full, "acc");
  assert.equal(shown.preamble, "Q: 1?\nA: x");
  assert.equal(shown.question, "Q: 2?\nA:");
  assert.equal(shown.pick, 1);
  assert.deepEqual(shown.gold, [1]);
  // a format-1 row (its text inline) needs no shared page and comes back as it is
  const old = {doc_id: 0, prompt: "P", choices: ["x"], target: 0, response: [[-1, true]], metrics: {acc: 1}};
  assert.equal(sharedRef(old, page.shared, 20), null);
  assert.equal(joinRow(old, null, 20), old);
  // a row whose text page is missing shows an empty prompt, never throws
  assert.equal(joinRow({doc_id: 1, task: "t", s: 3, metrics: {}}, null, 20).prompt, "");
  assert.equal(sharedRef({doc_id: 1, task: "__proto__", s: 3}, {}, 20), null);
});

test("a format-2 details file from the store: its header names the shared texts, rows keep their position", async () => {
  const {gzipSync} = await import("node:zlib");
  const lines = [
    {schema: "shlepa.details/2", shared: {arc_challenge: "0123456789abcdef"}, lm_eval: {}},
    {benchmark: "arc", task: "arc_challenge", doc_id: 7, s: 1, response: [[-3, false], [-1, true]], filter: "none",
      metrics: {acc_norm: 1}},
  ];
  const file = gzipSync(Buffer.from(lines.map((r) => JSON.stringify(r)).join("\n") + "\n"));
  const {shared, rows} = splitHeader(await readDetailsFile(file.buffer.slice(file.byteOffset, file.byteOffset + file.length)));
  assert.deepEqual(shared, {arc_challenge: "0123456789abcdef"});
  const built = indexRows(rows, {arc: {title: "ARC", metric: "acc_norm"}}, {}, 20);
  const row = built.pages.arc[0][0];
  assert.equal("prompt" in row, false);  // compact: no text of its own, so joinRow fetches it
  assert.deepEqual(sharedRef(row, shared, 20), {task: "arc_challenge", version: "0123456789abcdef", page: 0});
  const text = {preambles: [], rows: [{doc_id: 6, pre: -1, question: "x", choices: [], target: 0},
    {doc_id: 7, pre: -1, question: "Q?", choices: [" a", " b"], target: 1}]};
  const shown = readRow(joinRow(row, text, 20), "acc_norm");
  assert.equal(shown.question, "Q?");
  assert.equal(shown.pick, 1);
  assert.deepEqual(splitHeader([{doc_id: 0}]), {shared: null, rows: [{doc_id: 0}]});  // format 1: rows only
});
