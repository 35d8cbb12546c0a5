"""The precision contract on real tiny models: fp32 master weights and optimiser state under bf16
compute, a bf16 frozen reference, and checkpoints saved in the role's dtype."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from viarl.train.precision import cast_state


def _trainable(stage) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in stage.model.named_parameters() if p.requires_grad}


@pytest.mark.slow
def test_bf16_keeps_fp32_master_weights_that_move_at_the_paper_lr(overrides, tmp_path, build_stage):
    """At lr 4e-7 AdamW on bf16 weights rounds nearly every update away; fp32 masters keep them."""
    changed, losses = {}, {}
    for precision in ("fp32", "bf16"):
        args = overrides(**{"run.precision": precision, "models.selector.dtype": "bfloat16",
                            "warmup.lr": 4e-7, "output_dir": tmp_path / precision})
        stage = build_stage(args, "warmup")
        before = _trainable(stage)
        losses[precision] = stage.step(0)["loss"]
        after = _trainable(stage)
        assert all(p.dtype == torch.float32 for p in after.values())
        state = [s for s in stage.optimizer.state_dict()["state"].values()]
        assert state and all(s["exp_avg"].dtype == torch.float32 == s["exp_avg_sq"].dtype for s in state)
        moved = sum(int((after[n] != before[n]).sum()) for n in before)
        changed[precision] = moved / sum(p.numel() for p in before.values())
    assert changed["fp32"] > 0.3
    assert changed["bf16"] > 0.9 * changed["fp32"], changed
    # The forward really ran in bf16: same weights and batch, a slightly different loss.
    assert losses["bf16"] != losses["fp32"] and losses["bf16"] == pytest.approx(losses["fp32"], rel=0.05)


@pytest.mark.slow
def test_bf16_reference_and_checkpoints_in_the_roles_dtype(overrides, tmp_path, build_stage):
    args = overrides(**{"run.precision": "bf16", "models.selector.dtype": "bfloat16", "rl.steps": 1})
    stage = build_stage(args, "rl")
    assert {p.dtype for p in stage.ref.parameters()} == {torch.bfloat16}
    assert {p.dtype for p in stage.model.parameters()} == {torch.float32}
    stats = stage.step(0)
    assert stats["optimizer_steps"] == 1 and torch.isfinite(torch.tensor(stats["loss"]))
    stage.save()
    folder = tmp_path / "run" / "checkpoints" / "c1-rl" / "selector"
    weights = load_file(folder / "model.safetensors")
    assert {t.dtype for t in weights.values() if t.is_floating_point()} == {torch.bfloat16}
    assert json.loads((folder / "config.json").read_text())["dtype"] == "bfloat16"
    # The model handed to the next stages keeps its fp32 master weights.
    assert {p.dtype for p in stage.bundle.model.parameters()} == {torch.float32}


def test_cast_state_keeps_tied_tensors_tied():
    w = torch.randn(4, 3)
    out = cast_state({"embed": w, "lm_head": w, "steps": torch.tensor(3)}, torch.bfloat16)
    assert out["embed"] is out["lm_head"] and out["embed"].dtype == torch.bfloat16
    assert out["steps"].dtype == torch.int64


def test_only_trained_roles_load_as_fp32_masters():
    from viarl.train.precision import load_dtype

    assert load_dtype("selector", "bfloat16", {"rl", "sft", "eval"}) == "float32"
    assert load_dtype("answer", "bfloat16", {"answer_warmup", "eval"}) == "float32"
    # An evaluation-only run never steps an optimiser: its models stay in their checkpoint dtype.
    assert load_dtype("answer", "bfloat16", {"eval"}) == "bfloat16"
    assert load_dtype("answer", "bfloat16", {"rl", "eval"}) == "bfloat16"
