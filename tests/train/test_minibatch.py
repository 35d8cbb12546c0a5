"""Minibatches and gradient accumulation of the RL stage (and SFT's accumulation), on tiny models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from viarl.cli import main
from viarl.train.minibatch import micro_batches, optimizer_steps

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "needle.yaml"


def test_micro_batches_cover_every_row_once_in_order():
    for prompts, k, size in [(4, 8, None), (4, 8, 8), (8, 4, 8), (3, 4, 5), (2, 3, 1)]:
        batches = micro_batches(prompts, k, size)
        rows = [r for b in batches for p in b for r in range(p.global_rows(k).start, p.global_rows(k).stop)]
        assert rows == list(range(prompts * k))
        assert all(sum(p.rows.stop - p.rows.start for p in b) == (size or prompts * k) for b in batches[:-1])
    # The default (whole rollout) is one micro-batch of whole prompts: the loop over prompts.
    (whole,) = micro_batches(4, 8, None)
    assert [(p.prompt, p.rows) for p in whole] == [(i, slice(0, 8)) for i in range(4)]
    assert optimizer_steps(list(range(8)), 4) == [[0, 1, 2, 3], [4, 5, 6, 7]]


def _step_with_grads(stage):
    """Run step 0 of `stage`; returns its stats and the gradient of its first optimiser step."""
    grads, step = {}, stage.optimizer_step

    def keep_first(max_norm):
        if not grads:
            grads.update({n: p.grad.clone() for n, p in stage.model.named_parameters() if p.grad is not None})
        return step(max_norm)

    stage.optimizer_step = keep_first
    return stage.step(0), grads


def _close(a: dict, b: dict, rel: float) -> None:
    """Every tensor of a equals b's up to `rel` of the largest magnitude of that tensor."""
    assert a.keys() == b.keys()
    for n in a:
        scale = float(b[n].abs().max())
        assert float((a[n] - b[n]).abs().max()) <= rel * scale + 1e-12, n


def _rl_step(build_stage, overrides, tmp_path, name, **rl):
    args = overrides(**{"rl.prompts_per_step": 8, "rl.samples_per_prompt": 4, "output_dir": tmp_path / name,
                        **{f"rl.{k}": v for k, v in rl.items()}})
    stage = build_stage(args, "rl")
    stats, grads = _step_with_grads(stage)
    return stats, grads, {n: p.detach().clone() for n, p in stage.model.named_parameters() if p.requires_grad}


@pytest.mark.slow
def test_minibatch_8_times_accumulation_4_is_one_batch_of_32(build_stage, overrides, tmp_path):
    base, ref_grads, ref = _rl_step(build_stage, overrides, tmp_path, "whole", minibatch_size="null", grad_accum=1)
    assert base["optimizer_steps"] == 1
    # 8 × 4 (whole prompts per micro-batch) and 2 × 16 (each prompt's 4 samples cut in two).
    for size, accum in ((8, 4), (2, 16)):
        stats, grads, params = _rl_step(build_stage, overrides, tmp_path, f"mb{size}", minibatch_size=size,
                                        grad_accum=accum)
        assert stats["optimizer_steps"] == 1
        # Same rollout, same advantages (whitened over all 32 samples), same gradient, same step.
        for key in ("reward/total", "kl", "grad_norm"):
            assert stats[key] == pytest.approx(base[key], rel=1e-5, abs=1e-7), key
        _close(grads, ref_grads, 1e-5)
        # Adam's first step is lr·g/(|g| + 1e-8): where a gradient is near that epsilon (vision
        # merger, rare token rows) the step is a ratio of rounding noise, so the parameters are
        # compared where the gradient is well above it (to 3 % of one lr-1e-3 step), and
        # elsewhere only bounded by the two runs' steps (at most lr each).
        for n, p in params.items():
            live = ref_grads[n].abs() > 1e-6 if n in ref_grads else torch.zeros_like(p, dtype=torch.bool)
            diff = (p - ref[n]).abs()
            assert float(torch.where(live, diff, 0).max()) < 3e-5, n
            assert float(diff.max()) <= 2e-3 + 1e-7, n
    # Without accumulation the same minibatches take 4 steps, and end elsewhere.
    stats, _, params = _rl_step(build_stage, overrides, tmp_path, "mb8", minibatch_size=8, grad_accum=1)
    assert stats["optimizer_steps"] == 4
    assert any(not torch.equal(p, ref[n]) for n, p in params.items())


@pytest.mark.slow
def test_sft_accumulation_gives_the_gradient_of_one_batch(build_stage, overrides, tmp_path):
    out = {}
    for size, accum in ((4, 1), (1, 4), (2, 2)):
        args = overrides(**{"answer_warmup.batch_size": size, "answer_warmup.grad_accum": accum,
                            "output_dir": tmp_path / f"sft{size}"})
        out[size] = _step_with_grads(build_stage(args, "answer_warmup"))
    s_ref, g_ref = out[4]
    for size in (1, 2):
        stats, grads = out[size]
        for key in ("loss", "grad_norm", "token_accuracy", "target_tokens"):
            assert stats[key] == pytest.approx(s_ref[key], rel=1e-5), key
        _close(grads, g_ref, 1e-5)


@pytest.mark.slow
def test_needle_run_logs_two_optimizer_steps_per_rl_step(overrides, tmp_path):
    args = overrides(**{"rl.prompts_per_step": 2, "rl.samples_per_prompt": 4, "rl.minibatch_size": 4,
                        "rl.steps": 2, "stages.before": "[]", "stages.cycle": "[rl]", "stages.cycles": 1,
                        "evaluation.after_each_cycle": "false", "evaluation.selectors": "[uniform]"})
    assert main(["run", str(RECIPE), *args]) == 0
    rows = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    rl = [r for r in rows if r["stage"] == "rl"]
    assert [r["step"] for r in rl] == [0, 1]
    assert all(r["optimizer_steps"] == 2 for r in rl)
