"""rl.reference: the KL reference is re-taken every cycle (`cycle`) or kept from the first RL stage."""

from __future__ import annotations

import json

import pytest

from viarl.cli import main


def _first_kl(run, stage_id):
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return next(r["kl"] for r in rows if r["stage_id"] == stage_id)


@pytest.mark.slow
def test_initial_reference_is_kept_across_cycles_in_state(shared_runs):
    runs = {}
    for mode in ("cycle", "initial"):
        run, args = shared_runs(mode, **{"rl.reference": mode, "rl.index_entropy_coef": 0.1,
                                         "evaluation.selectors": "[uniform]"})
        assert main(["run", "recipes/needle.yaml", *args]) == 0
        runs[mode] = run
    # At the first step of an RL stage the policy IS the cycle's start: KL 0 (up to the rollout's
    # cached-vs-full-forward rounding) against a `cycle` reference; against the `initial` one,
    # cycle 1's training shows up as KL in cycle 2.
    for mode in ("cycle", "initial"):
        assert abs(_first_kl(runs[mode], "c1-rl")) < 1e-6
    assert abs(_first_kl(runs["cycle"], "c2-rl")) < 1e-6
    assert abs(_first_kl(runs["initial"], "c2-rl")) > 1e-4
    state = json.loads((runs["initial"] / "state.json").read_text())
    # The warm-up trained the selector first, so the reference is that checkpoint, run-relative.
    assert state["rl_reference"] == {"path": "checkpoints/pre0-warmup/selector", "in_run": True}
    assert "rl_reference" not in json.loads((runs["cycle"] / "state.json").read_text())
    rows = [json.loads(line) for line in (runs["initial"] / "metrics.jsonl").read_text().splitlines()]
    rl = [r for r in rows if r["stage"] == "rl"]
    assert all("index_entropy" in r for r in rl) and any(r["index_entropy"] > 0 for r in rl)
