import assert from "node:assert/strict";
import {test} from "node:test";

import {
  csvCell, csvText, formatAge, formatParams, formatScore, formatValue, hubUrl, isHttpUrl, numSorter, ordinalSorter, ordinals,
} from "../../site/assets/js/lib/format.js";

test("parameter counts show three significant digits, unknown ones nothing", () => {
  assert.equal(formatParams(6.738415616), "6.74");
  assert.equal(formatParams(70.553706496), "70.6");
  assert.equal(formatParams(141), "141");
  assert.equal(formatParams(0.000395008), "0.000395");
  assert.equal(formatParams(null), "");
  assert.equal(formatParams(undefined), "");
});

test("scores show two decimals, missing ones a dash", () => {
  assert.equal(formatScore(61.2), "61.20");
  assert.equal(formatScore(0), "0.00");
  assert.equal(formatScore(null), "–");
  assert.equal(formatValue(3.14159), "3.14");
  assert.equal(formatValue("abc"), "abc");
  assert.equal(formatValue(undefined), "–");
});

test("CSV fields are quoted when needed and never start a formula", () => {
  assert.equal(csvCell("plain"), "plain");
  assert.equal(csvCell(null), "");
  assert.equal(csvCell(12.5), "12.5");
  assert.equal(csvCell('say "hi", then go'), '"say ""hi"", then go"');
  assert.equal(csvCell("two\nlines"), '"two\nlines"');
  assert.equal(csvCell("=HYPERLINK(\"x\")"), '"\'=HYPERLINK(""x"")"');
  assert.equal(csvCell("+1"), "'+1");
  assert.equal(csvCell("-1"), "'-1");
  assert.equal(csvCell("@sum"), "'@sum");
  assert.equal(csvCell(-1), "'-1");  // negative numbers too: a spreadsheet reads them back as text
});

test("a view as CSV: the first row's keys are the header", () => {
  assert.equal(csvText([{rank: 1, model: "a/b", average: 50.5}, {rank: 2, model: "c,d", average: null}]),
    "rank,model,average\n1,a/b,50.5\n2,\"c,d\",\n");
  assert.equal(csvText([]), "rank,model\n");
});

test("Hugging Face links encode each path segment; only http(s) links are links", () => {
  assert.equal(hubUrl("https://huggingface.co/", "org/a b?"), "https://huggingface.co/org/a%20b%3F");
  assert.ok(isHttpUrl("https://example.org/x") && isHttpUrl("http://x"));
  assert.ok(!isHttpUrl("javascript:alert(1)") && !isHttpUrl(null) && !isHttpUrl(" https://x"));
});

test("numbers sort directly, empty values last in both directions", () => {
  const values = [3, null, 1, "", 2];
  const asc = values.slice().sort((a, b) => numSorter(a, b, null, null, null, "asc"));
  assert.deepEqual(asc.slice(0, 3), [1, 2, 3]);
  // Tabulator reverses the comparator's order for "desc": the empties must come out last after that.
  const desc = values.slice().sort((a, b) => numSorter(a, b, null, null, null, "desc")).reverse();
  assert.deepEqual(desc.slice(0, 3), [3, 2, 1]);
  assert.ok(desc.slice(3).every((v) => v === null || v === ""));
});

test("strings sort ignoring case, by their ordinal among the column's values", () => {
  const ord = ordinals(["beta", "Alpha", "alpha", null, "Gamma"]);
  assert.deepEqual(Array.from(ord.keys()), ["Alpha", "alpha", "beta", "Gamma"]);
  const sort = ordinalSorter(() => ord);
  const names = ["Gamma", "beta", "alpha", "Alpha"];
  assert.deepEqual(names.sort((a, b) => sort(a, b, null, null, null, "asc")), ["Alpha", "alpha", "beta", "Gamma"]);
});

test("ages as the build writes them, in the largest whole unit, never negative", () => {
  assert.equal(formatAge(0), "0 s");
  assert.equal(formatAge(45 * 1000), "45 s");
  assert.equal(formatAge(12 * 60 * 1000 + 59000), "12 min");
  assert.equal(formatAge(3 * 3600 * 1000), "3 h");
  assert.equal(formatAge(2 * 86400 * 1000 + 5), "2 d");
  assert.equal(formatAge(-5000), "0 s");  // a clock behind the build's
});
