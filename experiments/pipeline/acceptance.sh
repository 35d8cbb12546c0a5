#!/usr/bin/env bash
# Issue 13's acceptance: the CLIP pre-filter, a TensorBoard tracker, LoRA and run.log in one short
# needle run, then `viarl eval` with the pre-filter from flags. Run from the repository root after
# `pip install -e '.[dev]'` (tensorboard comes with the dev and tracking extras):
#
#   bash experiments/pipeline/acceptance.sh
#
# Prints what each check found; exits non-zero when one fails.
set -euo pipefail
run=runs/pipeline-acceptance
rm -rf "$run" runs/pipeline-eval
viarl run recipes/needle.yaml output_dir=$run frames.prefilter.frames=24 'logging.report_to=[tensorboard]' \
  models.selector.lora.r=4 models.selector.lora.alpha=8 \
  answer_warmup.steps=100 rl.steps=20 sft.steps=20 stages.cycles=1 evaluation.limit=40
viarl eval --data mlvu:data/needle/test --selector uniform --selector clip --clip models/tiny-clip \
  --prefilter 32 --answer models/tiny-answer -T 8 -N 2 --limit 40 --out runs/pipeline-eval
python - "$run" <<'PY'
import json, sys
from pathlib import Path
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

run = Path(sys.argv[1])
log = (run / "run.log").read_text()
print(f"run.log: {len(log.splitlines())} lines, carriage returns: {log.count(chr(13))}")
events = EventAccumulator(str(run / "trackers" / "needle"))
events.Reload()
tags = set(events.Tags()["scalars"])
wanted = ["reward/format", "reward/valid", "reward/correct", "reward/length", "kl"]
print("tensorboard scalars:", {t: len(events.Scalars(t)) for t in wanted if t in tags})
state = json.loads((run / "state.json").read_text())
selector = run / state["models"]["selector"]
print("selector checkpoint:", sorted(p.name for p in selector.iterdir()))
preds = [json.loads(x) for x in (run / "eval/cycle_1/trained/predictions.jsonl").read_text().splitlines()]
ordered = all(p["candidate_frames"] == sorted(p["candidate_frames"]) and p["candidates"] == 8 for p in preds)
print(f"pre-filtered candidates in time order, 8 each: {ordered} ({len(preds)} questions)")
eval_rows = json.loads(Path("runs/pipeline-eval/results.json").read_text())["selectors"]
print("viarl eval --prefilter 32:", {s["selector"]: s["cells"]["overall"] for s in eval_rows})
missing = [t for t in wanted if t not in tags]
ok = not missing and (selector / "adapter_config.json").is_file() and ordered and "\r" not in log
print("PASS" if ok else f"FAIL (missing scalars: {missing})")
sys.exit(0 if ok else 1)
PY
