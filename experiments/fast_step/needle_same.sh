#!/usr/bin/env bash
# recipes/needle.yaml before and after the fast-step work (issue 21): the same results, no slower.
#
# Both code versions (NOW and BASE, each checked out into its own worktree) run one shortened
# cycle of recipes/needle.yaml on the same pretrained models and the same data, made once first,
# at the same time, one thread each, so that a shared machine's load weighs on both alike; each
# run decodes its videos into its own cold frame cache. Their eval.jsonl and metrics.jsonl are
# copied to OUT, and compare.py prints what differs and the wall time of each.
#
#   bash experiments/fast_step/needle_same.sh [BASE [NOW]]   # defaults: 0537300 and HEAD
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BASE=${1:-0537300}
NOW=${2:-HEAD}
W=${W:-/tmp/viarl-needle-same}
OUT=${OUT:-$ROOT/experiments/fast_step/results/needle_same}
mkdir -p "$W" "$OUT"
SHARED=(models.selector.path="$W/models/selector" models.answer.path="$W/models/answer"
        data.train.path="$W/data/train" data.eval.path="$W/data/val"
        data.final.test.path="$W/data/test" data.final.shifted.path="$W/data/shifted"
        data.synthetic.final_videos=100 run.threads=1)
SHORT=(rl.steps=60 sft.steps=60 answer_warmup.steps=150 stages.cycles=1 logging.progress=false)

# Models and data, once (pretraining both models takes most of this).
if [ ! -f "$W/models/answer/config.json" ]; then
  (cd "$ROOT" && python -m viarl.cli run recipes/needle.yaml "${SHARED[@]}" rl.steps=1 sft.steps=1 \
     answer_warmup.steps=1 stages.cycles=1 evaluation.limit=1 frames.cache_dir="$W/cache-prep" \
     output_dir="$W/prep" logging.progress=false > "$W/prep.log" 2>&1)
fi

rm -rf "$W/base-tree" "$W/now-tree"
git -C "$ROOT" worktree prune
git -C "$ROOT" worktree add --detach "$W/base-tree" "$BASE" > /dev/null
git -C "$ROOT" worktree add --detach "$W/now-tree" "$NOW" > /dev/null
trap 'git -C "$ROOT" worktree remove --force "$W/base-tree"; git -C "$ROOT" worktree remove --force "$W/now-tree"' EXIT
run() {  # run NAME CODE
  rm -rf "$W/$1" "$W/cache-$1"
  local t0=$(date +%s.%N)
  (cd "$2" && PYTHONPATH="$2" python -m viarl.cli run recipes/needle.yaml "${SHARED[@]}" "${SHORT[@]}" \
     frames.cache_dir="$W/cache-$1" output_dir="$W/$1" > "$W/$1.log" 2>&1)
  echo "$(date +%s.%N) - $t0" | bc > "$W/$1.wall"
}
run now "$W/now-tree" & run before "$W/base-tree" & wait
for name in now before; do
  mkdir -p "$OUT/$name"
  cp "$W/$name/eval.jsonl" "$W/$name/summary.json" "$W/$name.wall" "$OUT/$name/"
  gzip -c "$W/$name/metrics.jsonl" > "$OUT/$name/metrics.jsonl.gz"
done
python "$ROOT/experiments/fast_step/compare.py" "$OUT"
