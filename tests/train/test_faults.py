"""Training faults (issue 14, point 5): the first inf or nan stops the run with exit 2, naming the
stage, step and sample; the checkpoints already written are kept and nothing of that step is saved."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from viarl.cli import main
from viarl.train.finite import NonFinite
from viarl.train.optim import clip_and_step

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "needle.yaml"
OVERFLOW = "param big: num = 1e308\ncomponent boom = big * 10 - big * 10\n"


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_a_nan_reward_stops_the_run_before_it_reaches_the_weights(overrides, tmp_path, capsys):
    run = tmp_path / "run"
    args = overrides(**{"stages.cycles": 1, "evaluation.selectors": "[uniform]",
                        "evaluation.after_each_cycle": "false", "evaluation.limit": 1})
    rules = tmp_path / "overflow.rules"
    rules.write_text(OVERFLOW)
    # First the warm-ups with sound rules; then RL with rules that overflow at its first step.
    assert main(["run", str(RECIPE), *args, "stages.cycles=0"]) == 0
    capsys.readouterr()
    state = json.loads((run / "state.json").read_text())
    assert state["done"] == ["pre0-warmup", "pre1-answer_warmup", "c0-eval"]
    before = _snapshot(run / "checkpoints")
    metrics = (run / "metrics.jsonl").read_text()
    code = main(["run", str(RECIPE), *args, f"rewards.file={rules}", "--resume", str(run), "--allow-changes"])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and "Traceback" not in err
    assert "step 0 of stage c1-rl" in err and "sample `" in err and "component `boom` scored nan" in err
    assert _snapshot(run / "checkpoints") == before  # nothing of the poisoned step saved
    assert (run / "metrics.jsonl").read_text() == metrics
    assert json.loads((run / "state.json").read_text())["done"] == state["done"]


def test_an_inf_gradient_never_reaches_the_weights():
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    weights = [p.detach().clone() for p in model.parameters()]
    (model(torch.ones(1, 3)) * float("inf")).sum().backward()
    with pytest.raises(NonFinite, match="gradient norm"):
        clip_and_step(model, opt, sched, 1.0)
    assert all(torch.equal(a, b) for a, b in zip(weights, model.parameters()))
    assert all(p.grad is None for p in model.parameters())
