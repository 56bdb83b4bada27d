import assert from "node:assert/strict";
import {test} from "node:test";

import {assignRanks, average, averageKeys, computeView, matches, parseQuery, prepareRow, sizeBand, typeSymbols}
  from "../../site/assets/js/lib/board.js";
import {defaults} from "../../site/assets/js/lib/state.js";
import {META, board} from "./fixtures.mjs";

function view(changes = {}) {
  const data = board();
  data.rows.forEach((r) => prepareRow(r, data.meta));
  const state = {...defaults(data), ...changes};
  const out = computeView(data.rows, data, state);
  const byId = Object.fromEntries(data.rows.map((r) => [r.id, r]));
  return {...out, byId, visibleIds: out.visible.map((r) => r.id)};
}

test("a search is names and field: value parts separated by ;, lower-cased", () => {
  assert.deepEqual(parseQuery(" Llama ; license: MIT;type:chat; precision: bfloat16 ; arch: Mistral;;"), {
    names: ["llama"], license: ["mit"], type: ["chat"], precision: ["bfloat16"], arch: ["mistral"],
  });
  assert.deepEqual(parseQuery("qwen2; mistral").names, ["qwen2", "mistral"]);
  assert.deepEqual(parseQuery("license:").license, []);  // an empty value narrows nothing
  assert.deepEqual(parseQuery("owner: me").names, ["owner: me"]);  // not a field: a name
  assert.deepEqual(parseQuery("").names, []);
});

test("size bands: each count in the first band it does not exceed; missing is unknown", () => {
  const bands = META.size_bands;
  assert.equal(sizeBand(0.5, bands), "0-3");
  assert.equal(sizeBand(3, bands), "0-3");
  assert.equal(sizeBand(3.01, bands), "3-7");
  assert.equal(sizeBand(7, bands), "3-7");
  assert.equal(sizeBand(70, bands), "7+");
  assert.equal(sizeBand(null, bands), "unknown");
  assert.equal(sizeBand(undefined, bands, "?"), "?");
});

test("the average leaves missing scores out and says so", () => {
  assert.deepEqual(average({arc: 60, mmlu: 41}, ["arc", "mmlu"]), {avg: 50.5, partial: false});
  assert.deepEqual(average({arc: 60, mmlu: null}, ["arc", "mmlu"]), {avg: 60, partial: true});
  assert.deepEqual(average({}, ["arc"]), {avg: null, partial: true});
  assert.deepEqual(average({a: 1, b: 2, c: 2}, ["a", "b", "c"]).avg, 1.67);  // rounded to 2 decimals
});

test("the average runs over the suite's average keys only: never a perplexity", () => {
  const suite = board().suites.lm;
  assert.deepEqual(averageKeys(suite), ["piqa"]);
  assert.deepEqual(averageKeys(suite, ["piqa", "word_perplexity"]), ["piqa"]);
  assert.deepEqual(averageKeys(suite, ["word_perplexity"]), []);
  const {byId} = view({suite: "lm"});
  assert.equal(byId.c.avg, 80);  // not (80 + 12.5) / 2
  assert.equal(byId.d.avg, 70);
  assert.equal(byId.c.b_word_perplexity, 12.5);  // still shown in its column
});

test("average over visible columns: the shown average keys; none shown gives no average", () => {
  assert.equal(view({avgvis: true, hidden: ["b_mmlu"]}).byId.a.avg, 60);
  const lm = view({suite: "lm", avgvis: true, hidden: ["b_piqa"]}).byId;
  assert.equal(lm.c.avg, null);  // only the perplexity is visible, and it is never averaged
  assert.equal(view({avgvis: true, hidden: []}).byId.a.avg, 50);
});

test("over all the average keys, the build's average is kept (it averages unrounded scores)", () => {
  const data = board();
  Object.assign(data.rows[0], {average: 50.01, average_norm: 19.99});
  const state = defaults(data), byId = Object.fromEntries(data.rows.map((r) => [r.id, r]));
  computeView(data.rows, data, state);
  assert.equal(byId.a.avg, 50.01);
  computeView(data.rows, data, {...state, norm: true});
  assert.equal(byId.a.avg, 19.99);
  computeView(data.rows, data, {...state, avgvis: true});
  assert.equal(byId.a.avg, 50.01);  // every average key visible: the same average, the build's
  computeView(data.rows, data, {...state, avgvis: true, hidden: ["b_mmlu"]});
  assert.equal(byId.a.avg, 60);  // over the visible columns: computed from the shown scores
});

test("normalized scores feed the columns and the average", () => {
  const {byId} = view({norm: true});
  assert.equal(byId.a.b_arc, 10);
  assert.equal(byId.a.avg, 20);
  assert.equal(byId.b.avg, 5);
});

test("ranks are 1..N within the current suite, by average, missing averages last", () => {
  const qa = view().byId;
  assert.deepEqual([qa.e.rank, qa.b.rank, qa.a.rank], [1, 2, 3]);  // 90 (e, flagged), 60, 50
  const lm = view({suite: "lm"}).byId;
  assert.deepEqual([lm.c.rank, lm.d.rank], [1, 2]);  // not 2, 4 among every suite's rows
  const norm = view({suite: "qa", norm: true}).byId;
  assert.deepEqual([norm.e.rank, norm.a.rank, norm.b.rank], [1, 2, 3]);  // e: norm arc 90, a: 20, b: 5
  const rows = [{avg: null}, {avg: 1}, {avg: 3}, {avg: 1}];
  assert.deepEqual((assignRanks(rows), rows.map((r) => r.rank)), [4, 2, 1, 3]);  // ties keep their order
});

test("board ranks count hidden rows; rank within filter numbers the visible rows 1..N", () => {
  const board = view();
  assert.deepEqual(board.visibleIds, ["a", "b"]);  // e is flagged: hidden by default
  assert.deepEqual(board.visible.map((r) => r.rank).sort(), [2, 3]);
  const within = view({rankf: true});
  assert.equal(within.byId.b.rank, 1);
  assert.equal(within.byId.a.rank, 2);
  assert.equal(view({rankf: true, q: "type: chat"}).byId.b.rank, 1);
});

test("the filter: suite, kinds shown, and each search form", () => {
  const data = board(), symbols = typeSymbols(data.meta), base = defaults(data);
  data.rows.forEach((x) => prepareRow(x, data.meta));
  const r = data.rows[1];  // org/b, chat, MIT, llama
  const sees = (q, changes = {}) => matches(r, {...base, ...changes}, parseQuery(q), symbols);
  assert.ok(sees(""));
  assert.ok(sees("ORG/B"));
  assert.ok(sees("nothing; org/b"));
  assert.ok(!sees("org/a"));
  assert.ok(sees("license: mit") && !sees("license: apache-2.0"));
  assert.ok(sees("type: chat") && sees("type: 💬") && sees("type: ch") && !sees("type: pretrained"));
  assert.ok(sees("precision: bfloat16") && !sees("precision: float16"));
  assert.ok(sees("arch: llama") && !sees("arch: mistral"));
  assert.ok(sees("org; license: mit; type: chat") && !sees("org; license: gpl"));
  assert.ok(!sees("", {suite: "lm"}));
  assert.ok(!sees("", {type: ["pretrained"]}));
  assert.ok(!sees("", {size: ["3-7"]}));  // 1.5B is in 0-3
  assert.ok(!matches(data.rows[4], base, parseQuery(""), symbols));  // flagged, hidden by default
  assert.ok(matches(data.rows[4], {...base, show: ["flagged"]}, parseQuery(""), symbols));
  // Evaluated with another lm-eval release than the suite pins: shown by default, hidden by unticking it.
  const other = prepareRow({...data.rows[0], harness: {version: "0.4.12", pinned: "0.4.13"}}, data.meta);
  assert.ok(matches(other, {...base, show: ["harness"]}, parseQuery(""), symbols));
  assert.ok(!matches(other, {...base, show: ["flagged"]}, parseQuery(""), symbols));
  assert.ok(matches(data.rows[0], {...base, show: []}, parseQuery(""), symbols));  // same release: never hidden
});

test("prepared rows carry the type symbol from the meta block and their size band", () => {
  const r = prepareRow({model: "Org/Big", type: "chat", license: null, arch: null, params: 70}, META);
  assert.equal(r.symbol, "💬");
  assert.equal(r.band, "7+");
  assert.equal(r.lname, "org/big");
  assert.equal(r.llicense, "");
});

test("the build's ranks and averages hold after any sequence of toggles; pinned rows stay in the view", () => {
  const data = board();
  // The build ranked by unrounded averages: a and b tie when rounded, and the build says b first.
  Object.assign(data.rows[0], {average: 55, average_norm: 20, rank: 3, rank_norm: 1});  // a
  Object.assign(data.rows[1], {average: 55, average_norm: 5, rank: 2, rank_norm: 3});  // b
  Object.assign(data.rows[4], {average: 90, average_norm: 9, rank: 1, rank_norm: 2});  // e
  data.rows.forEach((r) => prepareRow(r, data.meta));
  const byId = Object.fromEntries(data.rows.map((r) => [r.id, r]));
  const base = defaults(data);
  const ranks = (state) => { computeView(data.rows, data, state); return ["a", "b", "e"].map((id) => byId[id].rank); };
  // Each toggle on and off again, in turn: the build's ranks whenever every average key counts.
  const sequence = [
    [{}, [3, 2, 1]],
    [{norm: true}, [1, 3, 2]],
    [{norm: true, avgvis: true, hidden: []}, [1, 3, 2]],  // every average key shown: the build's
    [{avgvis: true, hidden: []}, [3, 2, 1]],
    [{}, [3, 2, 1]],
  ];
  for (const [changes, expected] of sequence) {
    assert.deepEqual(ranks({...base, ...changes}), expected, JSON.stringify(changes));
  }
  assert.deepEqual([byId.a.avg, byId.b.avg, byId.e.avg], [55, 55, 90]);  // the build's averages
  // Within the filter (e is flagged, hidden): 1..N in the board's order.
  computeView(data.rows, data, {...base, rankf: true});
  assert.deepEqual([byId.b.rank, byId.a.rank], [1, 2]);
  computeView(data.rows, data, {...base, rankf: true, norm: true});
  assert.deepEqual([byId.a.rank, byId.b.rank], [1, 2]);
  // Average over the visible columns (mmlu hidden): computed from the shown keys, ranked by it.
  computeView(data.rows, data, {...base, avgvis: true, hidden: ["b_mmlu"], show: ["flagged", "merged"]});
  assert.deepEqual([byId.e.avg, byId.b.avg, byId.a.avg], [90, 70, 60]);
  assert.deepEqual([byId.e.rank, byId.b.rank, byId.a.rank], [1, 2, 3]);
  // A pinned row stays in the view whatever the search, in its own suite only.
  const pinned = computeView(data.rows, data, {...base, q: "org/b", pin: ["a", "c"]});
  assert.deepEqual(pinned.visible.map((r) => r.id).sort(), ["a", "b"]);
  assert.deepEqual([byId.a.rank, byId.b.rank], [3, 2]);  // board ranks, not renumbered
});
