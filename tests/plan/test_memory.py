"""The memory estimate: the paper's recipe on 8 × 80 GB and 1 × 24 GB, and how each setting moves it."""

from __future__ import annotations

import pytest

from viarl.config.load import load_recipe
from viarl.models.reference import qwen25_vl_3b, qwen25_vl_7b
from viarl.plan.advice import advise
from viarl.plan.memory import GIB, Settings, estimate, with_changes
from viarl.plan.shapes import ModelShape

SEL, ANS = ModelShape.from_config(qwen25_vl_3b()), ModelShape.from_config(qwen25_vl_7b())


@pytest.fixture(scope="module")
def paper():
    return load_recipe("recipes/paper.yaml")


def _est(paper, gpus, mem, sharding, **changes):
    st = with_changes(Settings.from_recipe(paper, gpus, sharding), **changes)
    return estimate(SEL, ANS, st, mem)


def _item(result, name, stage):
    return next(i.per_stage[stage] for i in result.items if i.name.startswith(name) and i.counted)


def test_the_paper_fits_8_gpus_of_80_gb_under_fsdp_but_not_1_of_24(paper):
    big = _est(paper, 8, 80, "fsdp")
    assert big.fits and 40 * GIB < big.worst[1] < 76 * GIB
    assert set(big.settings.stages) == {"rl", "sft"}
    small = _est(paper, 1, 24, "ddp")
    assert not small.fits
    # No single change saves one 24 GB GPU: the fp32 answer model alone is 31 GiB.
    assert not any(a.result.fits for a in advise(SEL, ANS, small.settings, 24, small))
    # DDP on 80 GB GPUs does not fit either: the 7B answer model's fp32 weights, gradients and
    # Adam state are 16 bytes per parameter on every GPU.
    ddp = _est(paper, 8, 80, "ddp")
    assert not ddp.fits and ddp.worst[0] == "sft"
    assert _item(ddp, "answer Adam moments", "sft") == pytest.approx(8 * ANS.params())


def test_sharding_divides_the_trained_state_and_offload_moves_it_off_the_gpu(paper):
    ddp, fsdp4, fsdp8, off = (_est(paper, 8, 80, "ddp"), _est(paper, 4, 80, "fsdp"), _est(paper, 8, 80, "fsdp"),
                              _est(paper, 8, 80, "offload"))
    name = "selector Adam moments"
    trainable = SEL.params() - SEL.vision_params()  # the paper freezes the selector's vision tower
    assert _item(ddp, name, "rl") == pytest.approx(8 * trainable)
    assert _item(fsdp4, name, "rl") == pytest.approx(2 * _item(fsdp8, name, "rl"))
    assert _item(off, name, "rl") == 0
    # FSDP's price: the whole-weight twin viarl generates with, in the compute dtype (bf16).
    assert _item(fsdp8, "selector whole-weight twin", "rl") == pytest.approx(2 * SEL.params())
    assert off.worst[1] < fsdp8.worst[1] < ddp.worst[1]


def test_checkpointing_and_smaller_batches_cut_activations(paper):
    on = _est(paper, 8, 80, "fsdp")
    off = _est(paper, 8, 80, "fsdp", selector_checkpointing=False, answer_checkpointing=False)
    act = "activations and KV cache"
    assert _item(off, act, "sft") > 5 * _item(on, act, "sft")
    # The setting not in use is still shown, for comparison, but not counted.
    assert any(i.name.endswith("(not used)") and not i.counted for i in on.items)
    batch8 = _est(paper, 8, 80, "fsdp", batches=dict(on.settings.batches, sft=(8, 1, False)))
    assert _item(batch8, act, "sft") > 4 * _item(on, act, "sft")
    # Tokens per step count every GPU: 8 prompts × 8 samples × (128 frames × 18 + text + 512).
    assert on.tokens["rl"] == 8 * 8 * (128 * 18 + 256 + 512) * 8


def test_advice_says_what_fits(paper):
    four = _est(paper, 4, 80, "fsdp")
    assert not four.fits
    advice = advise(SEL, ANS, four.settings, 80, four)
    assert advice[0].result.fits and "fits" in advice[0].line()
    assert any("--num_processes 8" in a.change for a in advice)
    assert any("offload" in a.change for a in advice)


def test_every_transient_is_listed_and_the_peak_takes_the_larger_of_phase_and_transient(paper):
    est = _est(paper, 8, 80, "fsdp")
    names = [i.name for i in est.items if i.transient]
    assert any("set-up, selector whole in fp32" in n for n in names)
    assert any("set-up, answer whole in fp32" in n for n in names)
    assert any("twin refresh, one gathered weight" in n for n in names)
    assert not any("cast to its checkpoint dtype" in n for n in names)  # paper saves bf16 = compute dtype
    # The run's start holds both models whole: fp32 masters for the roles the paper trains.
    assert est.columns[0] == "start"
    assert est.peak("start") == pytest.approx(4 * (SEL.params() + ANS.params()))
    setup = next(i.per_stage["sft"] for i in est.items if i.name.startswith("transient: set-up, answer"))
    assert setup == pytest.approx(4 * ANS.params() * 7 / 8)
    steady = sum(i.per_stage.get("sft", 0) for i in est.items
                 if i.counted and not i.transient and not i.name.startswith("activations"))
    phase = _item(est, "activations and KV cache, largest phase, gradient", "sft")
    assert est.peak("sft") == pytest.approx(steady + max(phase, setup))
    # Saving in another dtype than the twin's adds the cast copy.
    fp32_save = _est(paper, 8, 80, "fsdp", save_bytes={"selector": 4, "answer": 4})
    assert any("cast to its checkpoint dtype" in i.name for i in fp32_save.items if i.transient)
