"""load_vlm: Auto-class loading of local folders; clear UserErrors for everything a user can get wrong."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from viarl.errors import UserError
from viarl.models.loading import load_vlm


def test_loads_model_and_processor_in_eval_mode(tiny_answer_dir):
    model, processor = load_vlm(str(tiny_answer_dir))
    assert type(model).__name__ == "Qwen2_5_VLForConditionalGeneration"
    assert type(processor).__name__ == "Qwen2_5_VLProcessor"
    assert not model.training
    assert next(model.parameters()).dtype == torch.float32
    assert model.config._attn_implementation == "sdpa"


def test_dtype_and_attention_are_applied(tiny_answer_dir):
    model, _ = load_vlm(tiny_answer_dir, dtype="bfloat16", attn_implementation="eager")
    assert next(model.parameters()).dtype == torch.bfloat16
    assert model.config._attn_implementation == "eager"


def test_class_comes_from_config_not_from_the_folder_name(tiny_answer_dir, tmp_path):
    renamed = tmp_path / "clip-not-really"
    shutil.copytree(tiny_answer_dir, renamed)
    model, _ = load_vlm(renamed)
    assert type(model).__name__ == "Qwen2_5_VLForConditionalGeneration"


@pytest.mark.parametrize("source", ["/no/such/model/folder", "./relative/missing", "not a hub id"])
def test_missing_folder_names_the_fix(source):
    with pytest.raises(UserError) as e:
        load_vlm(source)
    assert "does not exist" in e.value.message
    assert "viarl models tiny" in e.value.fix


def test_hub_id_offline_is_a_user_error():
    # conftest sets HF_HUB_OFFLINE=1: an uncached hub id must fail fast and clearly.
    with pytest.raises(UserError) as e:
        load_vlm("Qwen/Qwen2.5-VL-3B-Instruct")
    assert e.value.where == "Qwen/Qwen2.5-VL-3B-Instruct"
    assert "network" in e.value.fix


def test_folder_without_config_and_file_instead_of_folder(tmp_path, tiny_clip_dir):
    with pytest.raises(UserError, match="no config.json"):
        load_vlm(tiny_clip_dir)
    f = tmp_path / "weights.bin"
    f.write_bytes(b"\0")
    with pytest.raises(UserError, match="is a file"):
        load_vlm(f)


def test_text_only_config_is_not_a_vlm(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "qwen2", "hidden_size": 8,
                                                      "num_hidden_layers": 1, "num_attention_heads": 1,
                                                      "intermediate_size": 8, "vocab_size": 16}))
    with pytest.raises(UserError, match="not a vision-language model"):
        load_vlm(tmp_path)


def test_incomplete_folder_is_a_user_error(tmp_path, tiny_answer_dir):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_answer_dir, broken)
    (broken / "model.safetensors").unlink()
    with pytest.raises(UserError, match="cannot load"):
        load_vlm(broken)


@pytest.mark.parametrize("kwargs", [{"dtype": "float64x"}, {"attn_implementation": "magic"}])
def test_bad_options(tiny_answer_dir, kwargs):
    with pytest.raises(UserError) as e:
        load_vlm(tiny_answer_dir, **kwargs)
    assert "use one of" in e.value.fix


def test_auto_attention_is_flash_attention_only_on_a_gpu_with_the_package(monkeypatch):
    import importlib.util

    from viarl.models.loading import resolve_attention

    assert resolve_attention("auto", "cpu") == "sdpa"
    assert resolve_attention("eager", "cuda:0") == "eager"
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object() if name == "flash_attn" else real(name, *a))
    assert resolve_attention("auto", "cuda:0") == "flash_attention_2"
    assert resolve_attention("auto", "cpu") == "sdpa"
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "flash_attn" else real(name, *a))
    assert resolve_attention("auto", "cuda:0") == "sdpa"


def test_auto_attention_loads_a_model_on_the_cpu(tiny_selector_dir):
    from viarl.models.loading import load_vlm

    model, _ = load_vlm(str(tiny_selector_dir), attn_implementation="auto")
    assert model.config._attn_implementation == "sdpa"


def _copy_with(src, dst, edit_weights=None, edit_config=None):
    import json
    import shutil

    from safetensors.torch import load_file, save_file

    shutil.copytree(src, dst)
    if edit_weights is not None:
        save_file(edit_weights(load_file(dst / "model.safetensors")), dst / "model.safetensors")
    if edit_config is not None:
        config = json.loads((dst / "config.json").read_text())
        edit_config(config)
        (dst / "config.json").write_text(json.dumps(config))
    return dst


def test_weights_under_other_names_are_refused_not_loaded_as_random(tiny_selector_dir, tiny_answer_dir,
                                                                   needle_test_dir, tmp_path, capsys):
    """A checkpoint whose tensors are named for another model loaded as random weights, silently."""
    from viarl.cli import main
    from viarl.errors import UserError
    from viarl.models.loading import load_vlm

    renamed = _copy_with(tiny_selector_dir, tmp_path / "renamed",
                         edit_weights=lambda w: {f"other.{k}": v for k, v in w.items()})
    with pytest.raises(UserError, match="do not fit its config.json.*missing"):
        load_vlm(str(renamed))
    # `viarl eval --selector FOLDER` exits 2 naming the folder.
    argv = ["eval", "--data", f"mlvu:{needle_test_dir}", "--selector", str(renamed), "--answer", str(tiny_answer_dir),
            "--out", str(tmp_path / "out"), "--cache", str(tmp_path / "cache"), "-T", "8", "-N", "2", "--limit", "1"]
    assert main(argv) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "Traceback" not in err and str(renamed) in err and "do not fit its config.json" in err


def test_a_config_that_does_not_match_its_weights_is_refused(tiny_selector_dir, tmp_path):
    from viarl.errors import UserError
    from viarl.models.loading import load_vlm

    def wider(config):
        text = config.get("text_config", config)
        text["intermediate_size"] = int(text["intermediate_size"]) * 2

    bad = _copy_with(tiny_selector_dir, tmp_path / "wider", edit_config=wider)
    with pytest.raises(UserError) as e:
        load_vlm(str(bad))
    assert str(bad) in e.value.where
