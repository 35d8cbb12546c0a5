"""`viarl plan` through the real CLI: exit codes, the table, advice, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from viarl.cli import main

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def repo_cwd(monkeypatch):
    from viarl.console import console

    monkeypatch.chdir(REPO)
    monkeypatch.setattr(console, "width", 160)  # table rows on one line each, whatever the terminal


def test_the_paper_recipe_fits_8_gpus_of_80_gb(capsys):
    assert main(["plan", "recipes/paper.yaml", "--gpus", "8", "--gpu-mem", "80"]) == 0
    out = capsys.readouterr().out
    assert "fits: peak" in out and "GiB per GPU" in out and "fsdp_gpu.yaml" in out
    for row in ("selector weights (fp32 master)", "answer Adam moments (fp32)", "RL reference", "rollout KV cache",
                "gradient checkpointing", "no checkpointing"):
        assert row in out, row
    assert "128 × 16 tokens at 112 px" in out and "tokens per optimiser step" in out


def test_one_gpu_of_24_gb_is_refused_with_advice(capsys):
    assert main(["plan", "recipes/paper.yaml", "--gpus", "1", "--gpu-mem", "24"]) == 2
    out = capsys.readouterr().out
    assert "does not fit" in out and "what would help" in out
    assert "fsdp_offload_gpu.yaml" in out and "--num_processes" in out


def test_the_sharding_comes_from_an_accelerate_config(capsys):
    args = ["plan", "recipes/paper.yaml", "--gpus", "8", "--accelerate-config", "configs/accelerate/fsdp_offload_gpu.yaml"]
    assert main(args) == 0
    assert "sharding offload (configs/accelerate/fsdp_offload_gpu.yaml)" in capsys.readouterr().out


def test_tiny_models_fit_anywhere(capsys, tiny_selector_dir, tiny_answer_dir):
    args = ["plan", "recipes/needle.yaml", f"models.selector.path={tiny_selector_dir}",
            f"models.answer.path={tiny_answer_dir}", "stages.before=[warmup,answer_warmup]",
            "stages.cycle=[rl,sft]", "--gpus", "1", "--gpu-mem", "1"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "warmup" in out and "answer_warmup" in out and "8 × 4 tokens at 56 px" in out


@pytest.mark.parametrize("args, where, fix", [
    (["recipes/paper.yaml", "models.answer.path=acme/unknown-vl"], "models.answer.path", "huggingface-cli download"),
    (["recipes/needle.yaml", "models.selector.path=models/never-made"], "models.selector.path", "viarl models tiny"),
    (["recipes/paper.yaml", "--gpus", "0"], "--gpus", "1 or more"),
    (["recipes/paper.yaml", "--accelerate-config", "nope.yaml"], "nope.yaml", "configs/accelerate"),
])
def test_bad_input_exits_2_with_where_and_fix(capsys, args, where, fix):
    assert main(["plan", *args]) == 2
    err = capsys.readouterr().err
    assert where in err and fix in err and "Traceback" not in err


def test_a_model_folder_whose_config_is_not_json_exits_2_at_its_line_and_column(capsys, tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text('{\n  "model_type": "qwen2_5_vl",\n  oops\n}\n')
    assert main(["plan", "recipes/paper.yaml", f"models.selector.path={folder}"]) == 2
    err = capsys.readouterr().err
    assert f"{folder / 'config.json'}:3:3" in err and "is not JSON" in err and "Traceback" not in err

