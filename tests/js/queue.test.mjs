import assert from "node:assert/strict";
import {test} from "node:test";

import {readSubmitter, submitterMatches, writeSubmitter} from "../../site/assets/js/lib/queue.js";

test("rows match a submitter query by substring, ignoring case", () => {
  assert.ok(submitterMatches("Alice-Dev", "alice"));
  assert.ok(submitterMatches("bob", ""));
  assert.ok(!submitterMatches("bob", "alice"));
  assert.ok(submitterMatches("bob", "  BOB "));
});

test("the query lives in ?submitter=, other parameters kept", () => {
  assert.equal(readSubmitter("?submitter=alice&x=1"), "alice");
  assert.equal(readSubmitter(""), "");
  assert.equal(writeSubmitter("?x=1", "alice"), "?x=1&submitter=alice");
  assert.equal(writeSubmitter("?submitter=alice", " "), "");
});
