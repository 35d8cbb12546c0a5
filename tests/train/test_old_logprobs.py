"""π_old from the training forward (`rl.old_logprobs`), and the reference pass's shared prefill."""

from __future__ import annotations

import json

import pytest
import torch

from viarl.cli import main
from viarl.train.rl_stage import old_logprob_source

RECIPE = "recipes/needle.yaml"


def _rl_rows(run) -> list[dict]:
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    return [r for r in rows if r["stage"] == "rl"]


def test_auto_takes_the_training_forward_where_the_numerics_differ():
    assert old_logprob_source("auto", "fp32", False) == "sampler"
    assert old_logprob_source("auto", "bf16", False) == "training"
    assert old_logprob_source("auto", "fp32", True) == "training"
    assert old_logprob_source("sampler", "bf16", True) == "sampler"


@pytest.mark.slow
def test_one_update_per_rollout_under_bf16_has_every_ratio_exactly_one(overrides, tmp_path):
    """With π_old from the sampler, bf16 rounding differences between the KV-cached decode and the
    training forward show up as ratios off 1 (and spuriously clipped tokens); from the training
    forward they cannot."""
    devs = {}
    for source in ("training", "sampler"):
        args = overrides(**{"run.precision": "bf16", "rl.epochs": 1, "rl.old_logprobs": source,
                            "stages.cycles": 1, "output_dir": tmp_path / source})
        assert main(["run", RECIPE, *args]) == 0
        rows = _rl_rows(tmp_path / source)
        assert rows and all(r["optimizer_steps"] == 1 for r in rows)
        devs[source] = [r["ratio_max_dev"] for r in rows]
        if source == "training":
            assert all(r["clip_fraction"] == 0.0 for r in rows)
    assert devs["training"] == [0.0] * len(devs["training"])
    assert max(devs["sampler"]) > 0.0


@pytest.mark.slow
def test_a_later_update_reads_pi_old_from_a_no_grad_pass_of_the_training_model(build_stage, overrides, tmp_path):
    """Two epochs: the second update needs π_old stored; it is the training model's own forward."""
    from viarl.train.logprobs import completion_logprobs

    args = overrides(**{"run.precision": "bf16", "rl.epochs": 2, "rl.old_logprobs": "training"})
    stage = build_stage(args, "rl")
    samples = stage.batch_samples(0, stage.cfg.prompts_per_step)
    with stage.autocast():
        ro = stage.rollout(samples)
    old = stage.old_logprobs(ro)
    assert old is not ro.logp_old
    stage.model.train()
    for p, t, m, a in zip(ro.prompts, ro.tokens, ro.masks, old):
        with stage.autocast():
            loss_forward = completion_logprobs(stage.model, p, t, m, stage.banned)  # what the loss sees
        assert loss_forward.requires_grad
        assert torch.allclose(a, loss_forward.detach(), atol=1e-6), (a - loss_forward.detach()).abs().max()


@pytest.mark.slow
def test_the_reference_pass_shares_the_prompt_prefill_at_any_world_size(build_stage, overrides, monkeypatch):
    from viarl.train import logprobs, rl_stage

    stage = build_stage(overrides(), "rl")
    monkeypatch.setattr(logprobs, "world_size", lambda: 2)  # as under accelerate launch
    calls = []
    real = logprobs.completion_logprobs

    def spy(model, inputs, tokens, mask, banned=None, share_prefix=None):
        calls.append((model, share_prefix))
        return real(model, inputs, tokens, mask, banned, share_prefix)

    monkeypatch.setattr(rl_stage, "completion_logprobs", spy)
    stage.step(0)
    ref_calls = [share for model, share in calls if model is not stage.model]
    assert ref_calls and all(share is True for share in ref_calls)
