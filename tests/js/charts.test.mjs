import assert from "node:assert/strict";
import {test} from "node:test";

import {axisFormat, curveSpec, metricTitle, metrics, modelRows, paretoFront, seriesRows} from "../../site/assets/js/lib/charts.js";

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
    {kind: "series", key: "average", metric: "Average (%)", step: 100, value: 40, label: "o/m · run", sha: "aaaaaaaaaaaa", url: "models/o/m/x/"},
    {kind: "series", key: "arc", metric: "ARC (%)", step: 100, value: 41, label: "o/m · run", sha: "aaaaaaaaaaaa", url: "models/o/m/x/"},
  ]);
  const model = {model: "o/n", sha: "b".repeat(40), scores: {average: null, arc: null, ppl: 12}};
  assert.deepEqual(modelRows(model, SUITE), [{kind: "model", key: "ppl", metric: "WikiText", value: 12, label: "o/n (bbbbbbbbbbbb)"}]);
});

test("axis formats suit the values: no six decimals", () => {
  assert.equal(axisFormat([25, 25, 25]), ",.0f");  // a flat line at 25 %
  assert.equal(axisFormat([24.1, 31.7]), ",.0f");  // ticks 24, 26, 28, ...
  assert.equal(axisFormat([25, 26]), ",.1f");  // 25.0, 25.2, ...
  assert.equal(axisFormat([0.91, 0.95]), ",.2f");
  assert.equal(axisFormat([0, 15.6, 18.5]), ",.0f");
  assert.equal(axisFormat([1200, 5400]), ",.0f");
  assert.equal(axisFormat([6329971.7, 480000]), "~s");
  assert.equal(axisFormat([0, 0]), ",.0f");
  assert.equal(axisFormat([]), ",.0f");
});

test("lower-is-better metrics say so in their title", () => {
  assert.equal(metricTitle({title: "WikiText perplexity", unit: "", higher_is_better: false}), "WikiText perplexity ↓ lower is better");
  assert.equal(metricTitle({title: "ARC", unit: "%"}), "ARC (%)");
});

test("a curve panel has only the layers with data and the shared step domain", () => {
  const rows = [{kind: "series", key: "arc", step: 10, value: 25, label: "s"}, {kind: "series", key: "arc", step: 20, value: 26, label: "s"}];
  const spec = curveSpec(rows, [10, 30], ["s"], null);
  assert.equal(spec.layer.length, 1);  // no empty model-rule or checkpoint layer
  assert.deepEqual(spec.layer[0].encoding.x.scale.domain, [10, 30]);
  assert.equal(spec.layer[0].encoding.y.axis.format, ",.1f");  // 25 to 26
  assert.equal(curveSpec(rows, [10, 30], ["s"], 20).layer.length, 2);
  assert.equal(curveSpec(rows, [10, 30], ["s"], 99).layer.length, 1);
});
