import assert from "node:assert/strict";
import {test} from "node:test";

import {cardLicense, fill, fmtParams, hubChecks, optOut, storedDtype} from "../../site/assets/js/lib/checks.js";
import {billions3, command, gitPatch, isoTimestamp, newFileUrl, parseCheckpoints, queueAnchor, requestPath,
  requestYaml, shellQuote, submissionBranch} from "../../site/assets/js/lib/submit.js";
import {dumpMapping, yamlNumber, yamlString} from "../../site/assets/js/lib/yaml.js";

const NAMES = {default_suite: "open_llm_v1", short_sha: 12, request_path: "requests/{org}/{name}/{revision}_{precision}{suffix}.yaml",
  suite_suffix: "_{suite}", submission_branch: "submit/{org}-{name}-{short}-{precision}",
  series_branch: "submit/{org}-{name}-series-{series}", queue_anchor: "req-{row_id}",
  evaluation_key: "{model}@{revision}@{precision}@{suite}"};
const SHA = "0123456789abcdef0123456789abcdef01234567";
const RULES = {
  checks: {
    model_ok: {name: "model on the Hub", status: "pass", message: "{model} exists and is public", fix: ""},
    model_missing: {name: "model on the Hub", status: "fail", message: "{model} does not exist or is private", fix: "f"},
    model_gated: {name: "model is public", status: "fail", message: "{model} is gated", fix: "f"},
    revision_missing: {name: "revision", status: "fail", message: "revision {revision} does not exist in {model}", fix: ""},
    revision_ok: {name: "revision", status: "pass", message: "commit {short} exists", fix: ""},
    safetensors_ok: {name: "safetensors", status: "pass", message: "st", fix: ""},
    safetensors_pickle: {name: "safetensors", status: "fail", message: "pickle", fix: ""},
    safetensors_none: {name: "safetensors", status: "fail", message: "none", fix: ""},
    adapter_missing: {name: "adapter", status: "fail", message: "no adapter", fix: ""},
    license_none: {name: "license", status: "fail", message: "no license", fix: ""},
    license_closed: {name: "license", status: "fail", message: "license '{license}' is closed", fix: ""},
    license_ok: {name: "license", status: "pass", message: "open license {license}", fix: ""},
    params_too_big: {name: "parameters", status: "fail", message: "{billions}B > {limit}B", fix: ""},
    params_ok: {name: "parameters", status: "pass", message: "{params} parameters (limit {limit}B)", fix: ""},
    precision_mismatch: {name: "precision", status: "warn", message: "stored {stored}, asked {want}{hint}", fix: ""},
    precision_ok: {name: "precision", status: "pass", message: "stored as {want}", fix: ""},
    opt_out: {name: "opt-out", status: "fail", message: "org '{org}' opted out", fix: ""},
  },
  pickle_suffixes: [".bin", ".pt"], bf16_as_fp16: {stored: "bfloat16", want: "float16", hint: " (nan!)"}, open_licenses: ["apache-2.0", "mit"],
  optout_orgs: ["big"], max_params_b: 140, limit: "140",
  stored_dtype_precision: {BF16: "bfloat16", F16: "float16", F32: "float32"},
};

test("strings are quoted exactly where PyYAML quotes them", () => {
  assert.equal(yamlString("org/model"), "org/model");
  assert.equal(yamlString("yes"), "'yes'");
  assert.equal(yamlString("1234"), "'1234'");
  assert.equal(yamlString("1".repeat(40)), "'" + "1".repeat(40) + "'");
  assert.equal(yamlString("2026-12-02T00:37:50.430579Z"), "'2026-12-02T00:37:50.430579Z'");
  assert.equal(yamlString("it's: x"), "'it''s: x'");
  assert.equal(yamlString("a#b"), "a#b");
  assert.equal(yamlString("a #b"), "'a #b'");
  assert.equal(yamlString("tab\tx"), "\"tab\\tx\"");
  assert.equal(yamlNumber(7, true), "7.0");
  assert.equal(yamlNumber(0.001, true), "0.001");
  assert.equal(yamlNumber(1000, false), "1000");
});

test("mappings nest like safe_dump: indented maps, indentless lists", () => {
  assert.equal(dumpMapping({a: 1, b: null, c: {d: "x"}, e: [{f: true, g: "h"}]}),
    "a: 1\nc:\n  d: x\ne:\n- f: true\n  g: h\n");
});

test("a request in the schema's field order, absent fields left out", () => {
  const data = {names: NAMES, request: {status: "PENDING", reason: "submitted",
    fields: ["model", "revision", "precision", "model_type", "weight_type", "base_model", "use_chat_template",
      "license", "params", "submitter", "submitted_at", "suite", "checkpoint", "status", "history", "failure"]}};
  const now = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 0));
  const text = requestYaml(data, {model: "org/m", revision: SHA, precision: "bfloat16", modelType: "chat",
    license: "mit", params: 7, submitter: "me", suite: "open_llm_v1"}, now);
  assert.equal(text, "model: org/m\nrevision: " + SHA + "\nprecision: bfloat16\nmodel_type: chat\n" +
    "weight_type: original\nuse_chat_template: false\nlicense: mit\nparams: 7.0\nsubmitter: me\n" +
    "submitted_at: '2026-01-02T03:04:05Z'\nsuite: open_llm_v1\nstatus: PENDING\nhistory:\n" +
    "- at: '2026-01-02T03:04:05Z'\n  status: PENDING\n  reason: submitted\n");
  assert.equal(isoTimestamp(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 120))), "2026-01-02T03:04:05.120000Z");
  assert.equal(billions3(7_241_732_096), 7.242);
});

test("paths, branches, anchors and GitHub's new-file link follow keys.py's formats", () => {
  assert.equal(requestPath(NAMES, "org/m", SHA, "bfloat16", "open_llm_v1"), `requests/org/m/${SHA}_bfloat16.yaml`);
  assert.equal(requestPath(NAMES, "org/m", SHA, "4bit", "analysis360"), `requests/org/m/${SHA}_4bit_analysis360.yaml`);
  assert.equal(submissionBranch(NAMES, "org/m", SHA, "bfloat16"), "submit/org-m-0123456789ab-bfloat16");
  assert.equal(queueAnchor(NAMES, "org/m", SHA, "bfloat16", "s"), "req-org/m@0123456789ab@bfloat16@s");
  const url = new URL(newFileUrl("own/board", "main", "requests/o/m/x.yaml", "a: 1\nb: 'c d'\n"));
  assert.equal(url.pathname, "/own/board/new/main");
  assert.equal(url.searchParams.get("filename"), "requests/o/m/x.yaml");
  assert.equal(url.searchParams.get("value"), "a: 1\nb: 'c d'\n");
});

test("a patch of new files and a quoted command", () => {
  assert.equal(gitPatch([{path: "r/a.yaml", text: "a: 1\nb: 2\n"}]),
    "diff --git a/r/a.yaml b/r/a.yaml\nnew file mode 100644\n--- /dev/null\n+++ b/r/a.yaml\n@@ -0,0 +1,2 @@\n+a: 1\n+b: 2\n");
  assert.equal(shellQuote("it's"), "'it'\"'\"'s'");
  assert.equal(command(["shlepa", "submit", "o/m", "--license", "my license"]), "shlepa submit o/m --license 'my license'");
});

test("checkpoint lines: STEP=REVISION, no step twice", () => {
  const re = "^(\\d{1,13})=(\\S{1,200})$";
  assert.deepEqual(parseCheckpoints("1000=step_1000\n\n 2000=abc \n", re).checkpoints,
    [{step: 1000, ref: "step_1000"}, {step: 2000, ref: "abc"}]);
  assert.match(parseCheckpoints("1000=a\n1000=b", re).errors[0], /listed twice/);
  assert.match(parseCheckpoints("oops", re).errors[0], /expected STEP=REVISION/);
  assert.equal(parseCheckpoints("", re).errors.length, 1);
});

test("the browser's checks word outcomes with the shared templates", () => {
  assert.equal(fill("{a} and {b} {c}", {a: 1, b: "x"}), "1 and x {c}");
  assert.equal(fmtParams(1024), "1,024");
  assert.equal(fmtParams(7_241_732_096), "7.24B");
  const info = {sha: SHA, gated: false, cardData: {license: ["apache-2.0"]},
    siblings: [{rfilename: "model.safetensors"}], safetensors: {parameters: {BF16: 10, F32: 3}, total: 13}};
  assert.equal(cardLicense(info), "apache-2.0");
  assert.equal(storedDtype(info), "BF16");
  const out = hubChecks(RULES, info, {model: "org/m", revision: "main", weightType: "original", precision: "float16"});
  assert.deepEqual(out.map((o) => [o.name, o.status, o.message]), [
    ["model on the Hub", "pass", "org/m exists and is public"], ["revision", "pass", "commit 0123456789ab exists"],
    ["safetensors", "pass", "st"], ["license", "pass", "open license apache-2.0"],
    ["parameters", "pass", "13 parameters (limit 140B)"], ["precision", "warn", "stored bfloat16, asked float16 (nan!)"]]);
  assert.deepEqual(hubChecks(RULES, {error: "revision"}, {model: "org/m", revision: "v9"}).map((o) => o.message),
    ["revision v9 does not exist in org/m"]);
  assert.deepEqual(hubChecks(RULES, {...info, gated: "manual"}, {model: "org/m"}).map((o) => o.name), ["model is public"]);
  const base = hubChecks(RULES, info, {model: "org/base"}, "base model: ");
  assert.ok(base.every((o) => o.name.startsWith("base model: ")) && !base.some((o) => o.name.endsWith("revision")));
  assert.deepEqual(optOut(RULES, "Big/x").map((o) => o.message), ["org 'Big' opted out"]);
});
