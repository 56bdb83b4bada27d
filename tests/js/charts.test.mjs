import assert from "node:assert/strict";
import {test} from "node:test";

import {metrics, modelRows, paretoFront, seriesRows} from "../../site/assets/js/lib/charts.js";

test("the Pareto front keeps each model no smaller model beats", () => {
  const pts = [{model: "big", params: 70, average: 70}, {model: "small", params: 1, average: 40},
    {model: "mid-bad", params: 7, average: 35}, {model: "mid", params: 7, average: 55},
    {model: "huge-bad", params: 180, average: 60}];
  assert.deepEqual(paretoFront(pts).map((p) => p.model), ["small", "mid", "big"]);
  assert.deepEqual(paretoFront([]), []);
});

const SUITE = {benchmarks: [{key: "arc", title: "ARC", unit: "%"}, {key: "ppl", title: "WikiText", unit: ""}]};

test("chart metrics: the average first, then the suite's benchmarks", () => {
  assert.deepEqual(metrics(SUITE).map((m) => m.key), ["average", "arc", "ppl"]);
});

test("a series becomes one long row per checkpoint and metric, missing values left out", () => {
  const series = {points: [{step: 100, sha: "a".repeat(40), page: "models/o/m/x/", scores: {average: 40, arc: 41, ppl: null}}]};
  assert.deepEqual(seriesRows(series, SUITE, "o/m · run"), [
    {kind: "series", metric: "Average (%)", step: 100, value: 40, label: "o/m · run", sha: "aaaaaaaaaaaa", url: "models/o/m/x/"},
    {kind: "series", metric: "ARC (%)", step: 100, value: 41, label: "o/m · run", sha: "aaaaaaaaaaaa", url: "models/o/m/x/"},
  ]);
  const model = {model: "o/n", sha: "b".repeat(40), scores: {average: null, arc: null, ppl: 12}};
  assert.deepEqual(modelRows(model, SUITE), [{kind: "model", metric: "WikiText", value: 12, label: "o/n (bbbbbbbbbbbb)"}]);
});
