"""LoRA through peft on the tiny Qwen2.5-VL: adapters train alone, the adapters-off reference stays
put, adapter checkpoints load and merge, and bad settings are refused clearly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from pydantic import ValidationError

from viarl.cli import main
from viarl.config.load import load_recipe
from viarl.config.lora import Lora
from viarl.errors import UserError
from viarl.models.loading import load_vlm
from viarl.models.lora import (AdapterReference, adapter_base, add_lora, is_adapter_dir, is_peft_model,
                               language_layer_names, load_policy, mark_adapters_trainable)
from viarl.train.checkpoint import save_model
from viarl.train.optim import build_optimizer, build_scheduler, clip_and_step
from viarl.policy.prompts import answer_messages
from viarl.train.supervised import supervised_batch, supervised_loss

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "needle.yaml"


@pytest.fixture(scope="module")
def frames():
    rng = np.random.default_rng(0)
    return [Image.fromarray(rng.integers(0, 255, (56, 56, 3), dtype=np.uint8)) for _ in range(4)]


@pytest.fixture(scope="module")
def batch(tiny_answer_dir, frames):
    _, proc = load_vlm(str(tiny_answer_dir))
    ex = [(answer_messages("Which?", ["a", "b"], 1), frames[i : i + 1], "AB"[i % 2]) for i in range(4)]
    return supervised_batch(proc, ex)


def _logits(model, batch) -> torch.Tensor:
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    with torch.no_grad():
        return model(**inputs, use_cache=False).logits.float()  # [B, L, V]


def _train(model, batch, steps: int, lr: float = 3e-2) -> list[float]:
    mark_adapters_trainable(model)
    opt = build_optimizer(model, lr, 0.0)
    sched = build_scheduler(opt, "constant", steps, 0.0)
    model.train()
    losses = []
    for _ in range(steps):
        loss, _ = supervised_loss(model, batch)
        loss.backward()
        clip_and_step(model, opt, sched, 1.0)
        losses.append(float(loss.detach()))
    model.eval()
    return losses


@pytest.fixture(scope="module")
def trained(tiny_answer_dir, batch):
    """(peft model after 20 steps, base logits before any training, losses)."""
    model, proc = load_vlm(str(tiny_answer_dir))
    base_logits = _logits(model, batch)
    model = add_lora(model, Lora(r=4, alpha=8), seed=0, where="models.answer.lora")
    fresh = _logits(model, batch)
    assert torch.equal(fresh, base_logits)  # lora_B starts at 0: a fresh adapter changes nothing
    losses = _train(model, batch, 20)
    return model, proc, base_logits, losses


def test_only_language_model_adapters_train_and_the_loss_goes_down(trained):
    model, _, _, losses = trained
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    assert names and all(".lora_A." in n or ".lora_B." in n for n in names)
    assert not any(".visual." in n for n, _ in model.named_parameters() if "lora_" in n)
    assert {n.split(".lora_")[0].rsplit(".", 1)[-1] for n in names} == {"q_proj", "k_proj", "v_proj", "o_proj"}
    n_train = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert n_train < 0.05 * sum(p.numel() for p in model.parameters())
    assert losses[-1] < 0.85 * losses[0]  # 6.77 -> 5.13 with these settings


def test_adapters_off_is_the_untouched_base(trained, batch):
    model, _, base_logits, _ = trained
    assert not torch.allclose(_logits(model, batch), base_logits, atol=1e-3)  # the adapters did learn
    with model.disable_adapter():
        assert torch.equal(_logits(model, batch), base_logits)


def test_adapter_reference_swaps_weights_in_and_back(trained, batch):
    model, _, base_logits, _ = trained
    now = _logits(model, batch)
    assert AdapterReference.snapshot(_fresh_copy(model)).weights is None
    ref = AdapterReference.snapshot(model)
    assert ref.weights is not None
    params = {n: (p.data_ptr(), p.detach().clone()) for n, p in model.named_parameters() if "lora_" in n}
    with torch.no_grad():  # move the adapters on, as training would
        for n, p in model.named_parameters():
            if "lora_B" in n:
                p.add_(0.05)
    moved = _logits(model, batch)
    with ref.forward_model() as m:
        assert torch.allclose(_logits(m, batch), now, atol=1e-6)  # the snapshot's function
    assert torch.equal(_logits(model, batch), moved)  # the live adapters are back
    for n, p in model.named_parameters():  # in place: the optimiser keeps holding the same tensors
        if "lora_" in n:
            assert p.data_ptr() == params[n][0]
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "lora_" in n:
                p.copy_(params[n][1])
    with AdapterReference(model, None).forward_model() as m:
        assert torch.equal(_logits(m, batch), base_logits)


def _fresh_copy(model):
    """A fresh adapter on a copy of `model`'s base (identity: every lora_B is zero)."""
    import copy

    fresh = copy.deepcopy(model)
    with torch.no_grad():
        for n, p in fresh.named_parameters():
            if "lora_B" in n:
                p.zero_()
    return fresh


def test_checkpoint_holds_only_the_adapter_and_loads_and_merges(trained, batch, tmp_path, capsys):
    model, proc, _, _ = trained
    adapted = _logits(model, batch)
    folder = tmp_path / "run" / "checkpoints" / "c1-sft" / "answer"
    save_model(model, proc, folder, dtype="float32")
    files = {p.name for p in folder.iterdir()}
    assert {"adapter_config.json", "adapter_model.safetensors"} <= files
    assert not files & {"model.safetensors", "config.json", "pytorch_model.bin"}
    assert (folder / "adapter_model.safetensors").stat().st_size < 200_000  # the base is ~3 MB
    assert is_adapter_dir(folder) and not list(folder.parent.glob(".*"))  # atomic: no temp folder left
    # Evaluation: base + adapters merged, the same function.
    merged, _ = load_policy(folder)
    assert not is_peft_model(merged)
    assert torch.allclose(_logits(merged, batch), adapted, atol=1e-5)
    # Resume: base + the same adapters, trainable.
    again, _ = load_policy(folder, Lora(r=4, alpha=8))
    mark_adapters_trainable(again)
    assert is_peft_model(again) and torch.allclose(_logits(again, batch), adapted, atol=1e-6)
    assert any(p.requires_grad for n, p in again.named_parameters() if "lora_" in n)
    # `viarl models merge`: a full model folder that loads without peft.
    out = tmp_path / "merged"
    assert main(["models", "merge", str(folder), str(out)]) == 0
    assert (out / "model.safetensors").exists() and not (out / "adapter_config.json").exists()
    full, _ = load_vlm(str(out))
    assert torch.allclose(_logits(full, batch), adapted, atol=1e-5)
    # A folder without adapters is refused with exit 2.
    assert main(["models", "merge", str(out), str(tmp_path / "again")]) == 2
    assert "holds no adapter_config.json" in capsys.readouterr().err
    # The base is named by an absolute path, so the adapter loads from any working directory.
    config = json.loads((folder / "adapter_config.json").read_text())
    assert Path(config["base_model_name_or_path"]).is_absolute()


def test_the_base_path_is_found_beside_the_adapter_and_in_a_moved_run(tiny_answer_dir, tmp_path):
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    shutil.copytree(tiny_answer_dir, tmp_path / "base")
    (adapter / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "../base"}))
    assert Path(adapter_base(adapter)).resolve() == (tmp_path / "base").resolve()
    # An adapter whose base was a checkpoint of the same run, after the run folder moved.
    moved = tmp_path / "moved" / "checkpoints"
    shutil.copytree(tiny_answer_dir, moved / "c1-sft" / "answer")
    (moved / "c2-sft" / "answer").mkdir(parents=True)
    gone = "/nowhere/old-run/checkpoints/c1-sft/answer"
    (moved / "c2-sft" / "answer" / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": gone}))
    assert Path(adapter_base(moved / "c2-sft" / "answer")) == (moved / "c1-sft" / "answer").resolve()
    (adapter / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "./no/such/folder"}))
    with pytest.raises(UserError, match="base model ./no/such/folder is not there"):
        adapter_base(adapter)


def test_target_modules_that_match_nothing_are_refused_with_the_names_there_are(tiny_selector_dir):
    model, _ = load_vlm(str(tiny_selector_dir))
    have = language_layer_names(model)
    assert {"q_proj", "v_proj", "gate_proj", "lm_head"} <= set(have) and "qkv" not in have  # vision: qkv
    with pytest.raises(UserError) as e:
        add_lora(model, Lora(target_modules=["q_proj", "qkv"]), seed=0, where="models.selector.lora")
    assert e.value.where == "models.selector.lora.target_modules"
    assert "['qkv']" in e.value.message and "q_proj" in e.value.fix and "lm_head" in e.value.fix


def test_a_bad_target_module_stops_a_run_with_exit_2(tiny_run_args, tmp_path, capsys):
    args = tiny_run_args(tmp_path, **{"models.selector.lora.target_modules": "[q_proj,qq_proj]"})
    assert main(["run", str(RECIPE), *args]) == 2
    err = capsys.readouterr().err
    assert "models.selector.lora.target_modules" in err and "qq_proj" in err and "o_proj" in err
    assert "Traceback" not in err


def test_a_dotted_override_creates_the_lora_section():
    r = load_recipe(RECIPE, ["models.selector.lora.r=4", "models.selector.lora.alpha=8"])
    assert r.models.selector.lora == Lora(r=4, alpha=8)
    assert r.models.selector.lora.target_modules == ["q_proj", "k_proj", "v_proj", "o_proj"]
    assert r.models.answer.lora is None and load_recipe(RECIPE).models.selector.lora is None
    # An explicit null first, then a field: the section is created with defaults.
    r = load_recipe(RECIPE, ["models.answer.lora=null", "models.answer.lora.dropout=0.1"])
    assert r.models.answer.lora == Lora(dropout=0.1)
    with pytest.raises(UserError, match="models.selector.lora.rank"):
        load_recipe(RECIPE, ["models.selector.lora.rank=4"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,11}", fullmatch=True), min_size=1, max_size=5, unique=True),
       st.sampled_from(["", ".", "*", " ", "-"]))
def test_target_modules_accept_layer_names_and_refuse_anything_else(names, junk):
    assert Lora(target_modules=names).target_modules == names
    if junk:
        with pytest.raises(ValidationError):
            Lora(target_modules=[*names[:-1], names[-1] + junk + "x"])


@pytest.mark.parametrize("field, value", [("r", 0), ("alpha", 0), ("dropout", 1.0), ("dropout", -0.1),
                                          ("target_modules", []), ("target_modules", ["q_proj", "q_proj"])])
def test_bad_lora_numbers_are_refused(field, value):
    with pytest.raises(ValidationError):
        Lora(**{field: value})


def test_an_adapter_that_does_not_fit_its_base_is_refused_naming_what_differs(trained, tmp_path):
    """peft only warns when adapter tensors are missing (they stay at their initial values) and
    drops the ones the base has no module for; viarl refuses both, and another shape."""
    from safetensors.torch import load_file, save_file

    model, proc, _, _ = trained
    folder = tmp_path / "adapter"
    save_model(model, proc, folder, dtype="float32")
    tensors = load_file(str(folder / "adapter_model.safetensors"))
    assert load_policy(folder)[0] is not None  # whole: loads
    # One adapter tensor gone.
    first = sorted(tensors)[0]
    save_file({k: v for k, v in tensors.items() if k != first}, str(folder / "adapter_model.safetensors"))
    with pytest.raises(UserError, match=r"1 missing, e\.g\. `") as e:
        load_policy(folder)
    assert first in str(e.value)
    # One tensor for a module the base does not have.
    save_file({**tensors, "base_model.model.model.nowhere.lora_A.weight": torch.zeros(4, 8)},
              str(folder / "adapter_model.safetensors"))
    with pytest.raises(UserError, match="1 not in the base"):
        load_policy(folder)
    # The same adapters on a base whose key/value projections are narrower (1 KV head, not 2).
    from transformers import AutoConfig, Qwen2_5_VLForConditionalGeneration

    save_file(tensors, str(folder / "adapter_model.safetensors"))
    base = json.loads((folder / "adapter_config.json").read_text())["base_model_name_or_path"]
    narrow = tmp_path / "narrow"
    shutil.copytree(base, narrow)
    cfg = AutoConfig.from_pretrained(narrow)
    assert cfg.text_config.num_key_value_heads == 2
    cfg.text_config.num_key_value_heads = 1
    torch.manual_seed(0)
    Qwen2_5_VLForConditionalGeneration(cfg).save_pretrained(narrow)
    config = json.loads((folder / "adapter_config.json").read_text())
    config["base_model_name_or_path"] = str(narrow)
    (folder / "adapter_config.json").write_text(json.dumps(config))
    with pytest.raises(UserError, match="do not fit the base"):
        load_policy(folder)
