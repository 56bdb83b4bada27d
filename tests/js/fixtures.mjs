// A small data/leaderboard.json: the shape the build writes (shlepa.site.build.leaderboard_data).
export const META = {
  model_types: [
    {key: "pretrained", symbol: "🟢", title: "pretrained"},
    {key: "fine-tuned", symbol: "🔶", title: "fine-tuned"},
    {key: "chat", symbol: "💬", title: "chat / instruction-tuned"},
  ],
  precisions: ["bfloat16", "float16"],
  weight_types: ["original", "adapter"],
  size_bands: [{key: "0-3", label: "≤3B", max: 3}, {key: "3-7", label: "3–7B", max: 7}, {key: "7+", label: ">7B", max: null}],
  unknown_size: {key: "unknown", label: "unknown"},
  show: [{key: "flagged", label: "flagged", shown: false}, {key: "merged", label: "merged", shown: true}],
  columns: [{field: "precision", title: "Precision", shown: true}, {field: "arch", title: "Architecture", shown: false}],
  hub_url: "https://huggingface.co/",
  flag_symbol: "⚑",
};

function row(id, suite, scores, extra = {}) {
  return {id, suite, model: "org/" + id, type: "pretrained", precision: "bfloat16", weight_type: "original",
    license: "MIT", arch: "LlamaForCausalLM", params: 1.5, scores, norm: extra.norm || scores,
    merged: false, moe: false, available: true, flag: null, ...extra};
}

// Two suites; "lm" has a perplexity that is shown but not averaged (as in analysis360).
export function board() {
  return {
    meta: META,
    default_suite: "qa",
    suites: {
      qa: {title: "QA", benchmarks: [{key: "arc", title: "ARC"}, {key: "mmlu", title: "MMLU"}], average_keys: ["arc", "mmlu"]},
      lm: {title: "LM", benchmarks: [{key: "piqa", title: "PIQA"}, {key: "word_perplexity", title: "WikiText"}],
        average_keys: ["piqa"]},
    },
    rows: [
      row("a", "qa", {arc: 60, mmlu: 40}, {norm: {arc: 10, mmlu: 30}}),
      row("b", "qa", {arc: 70, mmlu: 50}, {norm: {arc: 5, mmlu: 5}, type: "chat"}),
      row("c", "lm", {piqa: 80, word_perplexity: 12.5}),
      row("d", "lm", {piqa: 70, word_perplexity: 900}),
      row("e", "qa", {arc: 90, mmlu: null}, {flag: {reason: "contaminated", url: null}}),
    ],
  };
}
