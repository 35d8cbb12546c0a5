#!/usr/bin/env bash
# The needle study: `viarl run recipes/needle.yaml` for five independent seeds (each seed makes its
# own videos, pretrains its own selector and answer model, and initialises and samples from its own
# stream), and seed 0 again with the reward's `correct` term ablated; then the evidence is copied
# into experiments/needle/results/ and summarize.py prints every table and acceptance check.
#
#   bash experiments/needle/run_study.sh            # from the repository root; JOBS=1 for one at a time
#
# Runs go two at a time (one thread each) on a 2-core machine. A run whose summary.json exists is
# not run again. Console logs: runs/<name>.log.
set -euo pipefail
cd "$(dirname "$0")/../.."
JOBS=${JOBS:-2}
mkdir -p runs
one() {
  local name=$1; shift
  [ -f "runs/$name/summary.json" ] && return 0
  viarl run recipes/needle.yaml output_dir="runs/$name" "$@" > "runs/$name.log" 2>&1
}
export -f one
printf '%s\n' "needle-s0 seed=0" "needle-s1 seed=1" "needle-s2 seed=2" "needle-s3 seed=3" "needle-s4 seed=4" \
  | xargs -P "$JOBS" -I{} bash -c 'one {}'
# the ablations come after every seed is done: they reuse their seed's data and pretrained models
# (started beside that seed's run, they would only wait for it to make them)
printf '%s\n' "needle-ablate-correct-s0 seed=0 rewards.ablate=[correct]" \
  "needle-ablate-correct-s4 seed=4 rewards.ablate=[correct]" | xargs -P "$JOBS" -I{} bash -c 'one {}'
python experiments/needle/collect.py runs/needle-s0 runs/needle-s1 runs/needle-s2 runs/needle-s3 runs/needle-s4 \
  runs/needle-ablate-correct-s0 runs/needle-ablate-correct-s4
python experiments/needle/summarize.py
