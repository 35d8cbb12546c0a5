#!/usr/bin/env bash
# The needle acceptance runs: `viarl run recipes/needle.yaml` for seeds 0, 1, 2, and the same
# recipe with the reward's `correct` component ablated (seed 0), then the summary table.
#
#   bash experiments/needle/run_seeds.sh            # from the repository root
#
# The first run grounding-pretrains the selector and writes the needle videos; the others reuse
# them. Each run's wall time is in its summary.json (wall_s) and in runs/<name>.time.
set -euo pipefail
cd "$(dirname "$0")/../.."
for seed in 0 1 2; do
  if [ ! -f "runs/needle-s$seed/summary.json" ]; then
    { time viarl run recipes/needle.yaml seed=$seed output_dir=runs/needle-s$seed ; } 2> "runs/needle-s$seed.time"
  fi
done
if [ ! -f runs/needle-ablate-correct/summary.json ]; then
  { time viarl run recipes/needle.yaml 'rewards.ablate=[correct]' output_dir=runs/needle-ablate-correct ; } \
    2> runs/needle-ablate-correct.time
fi
python experiments/needle/summarize.py runs/needle-s0 runs/needle-s1 runs/needle-s2
echo "ablation (reward without correct):"
python experiments/needle/summarize.py runs/needle-ablate-correct
