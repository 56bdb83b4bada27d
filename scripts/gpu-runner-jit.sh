#!/usr/bin/env bash
# One box, one job at a time: a just-in-time GitHub Actions runner in a fresh container.
#
# For every job: ask the API for a single-use JIT runner configuration (POST
# .../actions/runners/generate-jitconfig), start a NEW container with it, let the runner
# take exactly one job, and remove the container (--rm) with everything the job wrote:
# caches, git hooks, daemons, files. The token that creates runners stays on this host
# (read from a file on every round, never passed into a container); the container gets
# only the JIT configuration, which registers one runner for one job.
#
# Settings (environment):
#   SHLEPA_REPO          owner/name of the leaderboard (required)
#   SHLEPA_TOKEN_FILE    file holding a token that may manage the repository's self-hosted
#                        runners (a GitHub App installation token or a fine-grained token
#                        with "Administration: write" on this repository only) (required)
#   SHLEPA_RUNNER_GROUP  runner group id, limited to evaluate.yml on refs/heads/main (default 1)
#   SHLEPA_LABELS        comma-separated labels (default: gpu)
#   SHLEPA_IMAGE         runner image with CUDA torch (default: ghcr.io/actions/actions-runner:latest)
#   SHLEPA_GPUS          docker --gpus value (default: all)
#   SHLEPA_ONCE          1: run one job and exit (default: loop forever)
#   GITHUB_API           API URL (default: https://api.github.com)
set -euo pipefail

repo="${SHLEPA_REPO:?set SHLEPA_REPO=owner/name}"
token_file="${SHLEPA_TOKEN_FILE:?set SHLEPA_TOKEN_FILE to a file holding the runner-admin token}"
group="${SHLEPA_RUNNER_GROUP:-1}"
labels="${SHLEPA_LABELS:-gpu}"
image="${SHLEPA_IMAGE:-ghcr.io/actions/actions-runner:latest}"
gpus="${SHLEPA_GPUS:-all}"
api="${GITHUB_API:-https://api.github.com}"

case "$repo" in
  */*) ;;
  *) echo "SHLEPA_REPO must be owner/name, got '$repo'" >&2; exit 2 ;;
esac
case "$group" in
  '' | *[!0-9]*) echo "SHLEPA_RUNNER_GROUP must be a number, got '$group'" >&2; exit 2 ;;
esac

# The JSON body, built by python so no label or name can break out of it.
body() {
  python3 -c 'import json, sys
name, group, labels = sys.argv[1], int(sys.argv[2]), sys.argv[3]
print(json.dumps({"name": name, "runner_group_id": group, "labels": [l for l in labels.split(",") if l], "work_folder": "_work"}))' \
    "$1" "$group" "$labels"
}

jit_config() {
  local name="$1" token response
  token="$(tr -d '[:space:]' < "$token_file")"
  # The token goes to curl through a header file on stdin, never on a command line.
  response="$(printf 'Authorization: Bearer %s\n' "$token" | curl --silent --show-error --fail \
    --header @- \
    --header "Accept: application/vnd.github+json" \
    --header "X-GitHub-Api-Version: 2022-11-28" \
    --request POST --data "$(body "$name")" \
    "$api/repos/$repo/actions/runners/generate-jitconfig")"
  printf '%s' "$response" | python3 -c 'import json, sys; print(json.load(sys.stdin)["encoded_jit_config"])'
}

run_one() {
  local name config
  name="shlepa-gpu-$(hostname -s)-$(date -u +%Y%m%dT%H%M%S)-$$"
  config="$(jit_config "$name")"
  echo "runner $name: waiting for one job" >&2
  # A fresh container per job; --rm deletes it and everything the job wrote. The
  # configuration passes by name from this environment (never on docker's command line).
  ACTIONS_RUNNER_INPUT_JITCONFIG="$config" docker run --rm --name "$name" --gpus "$gpus" \
    --security-opt no-new-privileges --cap-drop ALL \
    --env ACTIONS_RUNNER_INPUT_JITCONFIG \
    "$image" /home/runner/run.sh
  echo "runner $name: done, container removed" >&2
}

if [ "${SHLEPA_ONCE:-0}" = 1 ]; then
  run_one
  exit 0
fi
while true; do
  run_one || sleep 30
done
