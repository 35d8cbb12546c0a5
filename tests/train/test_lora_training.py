"""LoRA in real tiny runs: RL and SFT train adapters only, the KL reference follows `rl.reference`
without a second copy of the weights, resume is exact, and checkpoints are adapters that
`viarl eval` and `viarl models merge` read."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from viarl.cli import main
from viarl.models.lora import AdapterReference, is_peft_model

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "needle.yaml"
SELECTOR_LORA = {"models.selector.lora.r": 4, "models.selector.lora.alpha": 8}
BOTH_LORA = {**SELECTOR_LORA, "models.answer.lora.r": 4, "models.answer.lora.alpha": 8}


def _adapters(model) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters() if "lora_" in n}


def _rows(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def _first_kl(run: Path, stage_id: str) -> float:
    return next(r["kl"] for r in _rows(run) if r["stage_id"] == stage_id)


@pytest.mark.slow
def test_rl_with_lora_resumes_exactly(overrides, tmp_path, build_stage):
    """Steps 0-1, a mid-stage checkpoint, a fresh process state, steps 2-3 == four straight steps.

    Adapter dropout draws from the global RNG, so the checkpoint's RNG state is exercised too.
    """
    extra = {**SELECTOR_LORA, "models.selector.lora.dropout": 0.1, "rl.steps": 4}
    straight = build_stage(overrides(**extra, output_dir=tmp_path / "straight"), "rl")
    assert is_peft_model(straight.ctx.selector.model)
    expected = [straight.step(i) for i in range(4)]
    first = build_stage(overrides(**extra, output_dir=tmp_path / "cut"), "rl")
    for i in range(2):
        assert first.step(i)["loss"] == pytest.approx(expected[i]["loss"], rel=1e-5, abs=1e-7)
    first.checkpoint(2)
    partial = torch.load(tmp_path / "cut" / "checkpoints" / "c1-rl.partial" / "model.pt")
    assert partial and all("lora_" in name for name in partial)  # the adapters, not the base weights
    resumed = build_stage(overrides(**extra, output_dir=tmp_path / "cut"), "rl")
    assert resumed.resume() == 2
    for i in (2, 3):
        got = resumed.step(i)
        for key in ("loss", "reward/total", "kl", "grad_norm", "entropy"):
            assert got[key] == pytest.approx(expected[i][key], rel=1e-5, abs=1e-7), (i, key)
    a, b = _adapters(straight.ctx.selector.model), _adapters(resumed.ctx.selector.model)
    assert a.keys() == b.keys() and all(torch.allclose(a[n], b[n], atol=1e-7) for n in a)


@pytest.mark.slow
def test_rl_trains_adapters_only_in_fp32_under_bf16_and_keeps_the_reference(overrides, tmp_path, build_stage):
    stage = build_stage(overrides(**SELECTOR_LORA, **{"run.precision": "bf16", "rl.steps": 3}), "rl")
    model = stage.ctx.selector.model
    # The first RL stage starts from fresh adapters: the reference is the base, adapters off.
    assert isinstance(stage.ref, AdapterReference) and stage.ref.weights is None
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == set(_adapters(model))
    frozen = {n: p.detach().clone() for n, p in model.named_parameters() if not p.requires_grad}
    before = _adapters(model)
    prompt = stage.rollout(stage.batch_samples(0, 1)).prompts[0]
    ids = prompt["input_ids"].shape[1]

    def ref_logits():
        with stage.ref.forward_model() as m, torch.no_grad():
            return m(**prompt, use_cache=False).logits[0, ids - 4 :].float()  # [4, V]

    ref_before = ref_logits()
    for i in range(3):
        stats = stage.step(i)
        assert torch.isfinite(torch.tensor(stats["loss"]))
    after = _adapters(model)
    assert any(not torch.equal(before[n], after[n]) for n in before)  # the adapters moved
    assert all(p.dtype == torch.float32 for p in after.values())
    state = list(stage.optimizer.state_dict()["state"].values())
    assert len(state) == len(trainable) and all(s["exp_avg"].dtype == torch.float32 for s in state)
    assert all(torch.equal(p, frozen[n]) for n, p in model.named_parameters() if n in frozen)
    assert torch.equal(ref_logits(), ref_before)  # the reference did not move with the policy
    assert stage.ref.model is model  # the reference runs on the policy's own weights: no second copy


@pytest.mark.slow
def test_lora_runs_leave_adapter_checkpoints_that_eval_and_merge_read(shared_runs, tmp_path, capsys):
    run, args = shared_runs("lora-initial", **BOTH_LORA, **{"evaluation.selectors": "[trained,uniform]"})
    assert main(["run", str(RECIPE), *args]) == 0
    for stage, role in (("pre0-warmup", "selector"), ("pre1-answer_warmup", "answer"), ("c1-rl", "selector"),
                        ("c1-sft", "answer"), ("c2-rl", "selector"), ("c2-sft", "answer")):
        folder = run / "checkpoints" / stage / role
        assert (folder / "adapter_config.json").exists() and (folder / "adapter_model.safetensors").exists()
        assert not (folder / "model.safetensors").exists() and not (folder / "config.json").exists()
    assert (run / "checkpoints" / "c2-rl" / "selector" / "viarl_selector.json").exists()
    # rl.reference: initial with the warm-up first: the reference is the warm-up's adapters (KL 0
    # at the first RL step), kept in cycle 2, where cycle 1's training shows up as KL.
    state = json.loads((run / "state.json").read_text())
    assert state["rl_reference"] == {"path": "checkpoints/pre0-warmup/selector", "in_run": True}
    assert abs(_first_kl(run, "c1-rl")) < 1e-6 and abs(_first_kl(run, "c2-rl")) > 1e-4
    sft = [r["loss"] for r in _rows(run) if r["stage"] in ("answer_warmup", "sft")]
    assert sft[-1] < sft[0]  # the answer model's adapters learn
    # `viarl eval` takes the adapter checkpoints as selector and answer model.
    out = tmp_path / "eval"
    ev = ["eval", "--data", f"mlvu:{_eval_data(run)}",
          "--selector", "uniform", "--selector", str(run / "checkpoints" / "c2-rl" / "selector"),
          "--answer", str(run / "checkpoints" / "c2-sft" / "answer"), "-T", "8", "-N", "2",
          "--limit", "2", "--out", str(out), "--cache", str(tmp_path / "cache"), "--device", "cpu"]
    assert main(ev) == 0, capsys.readouterr().err
    assert len(list(out.rglob("predictions.jsonl"))) == 2
    # `viarl models merge` gives a full selector that evaluates to the same picks.
    merged = tmp_path / "merged"
    assert main(["models", "merge", str(run / "checkpoints" / "c2-rl" / "selector"), str(merged)]) == 0
    assert (merged / "model.safetensors").exists() and (merged / "viarl_selector.json").exists()


def _eval_data(run: Path) -> str:
    from viarl.config.load import load_recipe

    return load_recipe(run / "recipe.yaml").data.eval.path


@pytest.mark.slow
def test_lora_cycle_reference_is_each_cycles_start(shared_runs):
    run, args = shared_runs("lora-cycle", **SELECTOR_LORA, **{"rl.reference": "cycle",
                                                               "evaluation.selectors": "[uniform]"})
    assert main(["run", str(RECIPE), *args]) == 0
    # Against the adapters as each RL stage found them, the first step's KL is 0 in both cycles.
    assert abs(_first_kl(run, "c1-rl")) < 1e-6 and abs(_first_kl(run, "c2-rl")) < 1e-6
    assert any(abs(r["kl"]) > 1e-5 for r in _rows(run) if r["stage_id"] == "c2-rl")


@pytest.mark.slow
def test_lora_switched_on_mid_run_resumes_from_a_moved_copy(shared_runs, tmp_path, capsys):
    """Full-weight warm-ups, then LoRA RL on their checkpoint (a base inside the run folder); the
    run folder then moves, and the next cycle finds that base in the moved folder."""
    run, args = shared_runs("lora-switch", **{"stages.cycles": 0, "evaluation.selectors": "[uniform]",
                                              "evaluation.after_each_cycle": "false"})
    assert main(["run", str(RECIPE), *args]) == 0
    lora = [f"{k}={v}" for k, v in SELECTOR_LORA.items()] + ["rl.reference=cycle", "stages.cycle=[rl]"]
    assert main(["run", str(RECIPE), *args, *lora, "stages.cycles=1", "--resume", str(run), "--allow-changes"]) == 0
    adapter = run / "checkpoints" / "c1-rl" / "selector"
    base = json.loads((adapter / "adapter_config.json").read_text())["base_model_name_or_path"]
    assert Path(base) == (run / "checkpoints" / "pre0-warmup" / "selector").resolve()
    moved = tmp_path / "moved"
    shutil.move(str(run), str(moved))
    code = main(["run", str(RECIPE), *args, *lora, f"output_dir={moved}", "stages.cycles=2",
                 "--resume", str(moved), "--allow-changes"])
    assert code == 0, capsys.readouterr().err
    assert (moved / "checkpoints" / "c2-rl" / "selector" / "adapter_config.json").exists()
    assert json.loads((moved / "state.json").read_text())["models"]["selector"] == "checkpoints/c2-rl/selector"
    assert abs(_first_kl(moved, "c2-rl")) < 1e-6  # the cycle reference: the adapters c2 started from
