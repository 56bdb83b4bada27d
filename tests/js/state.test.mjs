import assert from "node:assert/strict";
import {test} from "node:test";

import {defaults, readState, sorters, writeState} from "../../site/assets/js/lib/state.js";
import {board} from "./fixtures.mjs";

test("the default view comes from the meta block", () => {
  const d = defaults(board());
  assert.equal(d.suite, "qa");
  assert.deepEqual(d.type, ["pretrained", "fine-tuned", "chat"]);
  assert.deepEqual(d.size, ["0-3", "3-7", "7+", "unknown"]);
  assert.deepEqual(d.show, ["merged"]);
  assert.deepEqual(d.hidden, ["arch"]);
  assert.equal(d.sort, "avg:desc");
});

test("the default view has an empty query string", () => {
  const data = board();
  assert.equal(writeState(defaults(data), data), "");
});

test("only what differs from the defaults goes into the URL, and reads back the same", () => {
  const data = board();
  const s = {...defaults(data), q: "type: chat; llama", suite: "lm", norm: true, rankf: true,
    show: ["merged", "flagged"], hidden: [], sort: "b_arc:asc"};
  const qs = writeState(s, data);
  assert.equal(qs, "search=type%3A+chat%3B+llama&suite=lm&norm=1&rankf=1&show=merged%2Cflagged&hidden=&sort=b_arc%3Aasc");
  assert.deepEqual(readState("?" + qs, data), s);
});

test("an unknown suite in the URL falls back to the default; flags are on only as 1", () => {
  for (const bad of ["__proto__", "constructor", "toString"]) {
    assert.equal(readState("?suite=" + bad, board()).suite, board().default_suite, bad);
  }
  const s = readState("?suite=nope&norm=0&avgvis=1&type=", board());
  assert.equal(s.suite, "qa");
  assert.equal(s.norm, false);
  assert.equal(s.avgvis, true);
  assert.deepEqual(s.type, []);
});

test("a sort is field:direction, descending unless it says asc", () => {
  assert.deepEqual(sorters("b_arc:asc"), [{column: "b_arc", dir: "asc"}]);
  assert.deepEqual(sorters("model:desc"), [{column: "model", dir: "desc"}]);
  assert.deepEqual(sorters("model:sideways"), [{column: "model", dir: "desc"}]);
  // a field that is no column of the table sorts as the default does
  assert.deepEqual(sorters("__proto__:asc", ["rank", "avg", "model"]), [{column: "avg", dir: "desc"}]);
  assert.deepEqual(sorters("model:asc", ["rank", "avg", "model"]), [{column: "model", dir: "asc"}]);
});
