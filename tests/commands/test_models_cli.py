"""`viarl models tiny` through the real CLI: writes loadable models; bad arguments exit 2, no traceback."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from viarl.cli import main


def test_tiny_clip_writes_a_loadable_folder(tmp_path, capsys):
    assert main(["models", "tiny", str(tmp_path / "c"), "--role", "clip", "--seed", "3"]) == 0
    assert "wrote tiny clip model" in capsys.readouterr().out
    cfg = json.loads((tmp_path / "c" / "open_clip_config.json").read_text())
    assert cfg["model_cfg"]["embed_dim"] == 32
    from viarl.models.clip import load_clip

    assert load_clip(tmp_path / "c").model is not None


def test_tiny_selector(tmp_path):
    assert main(["models", "tiny", str(tmp_path / "s"), "--role", "selector"]) == 0
    assert (tmp_path / "s" / "model.safetensors").is_file()
    assert (tmp_path / "s" / "processor_config.json").is_file()


@pytest.mark.parametrize("args, message", [
    (["--role", "critic"], "invalid choice"),
    (["--role", "selector", "--seed", "-1"], "seed must be a non-negative integer"),
    (["--role", "answer", "--seed", "x"], "invalid int value"),
    ([], "required"),
])
def test_bad_arguments_exit_2(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as e:
        rc = main(["models", "tiny", str(tmp_path / "m"), *args])
        raise SystemExit(rc)
    assert e.value.code == 2
    err = " ".join(capsys.readouterr().err.split())  # rich wraps long lines
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "m").exists()


def test_unwritable_folder_exits_2_without_traceback(tmp_path):
    (tmp_path / "file").write_text("x")
    r = subprocess.run([sys.executable, "-m", "viarl.cli", "models", "tiny", str(tmp_path / "file" / "m"),
                        "--role", "clip"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    err = " ".join(r.stderr.split())  # rich wraps long lines
    assert "is not a folder" in err and "fix:" in err and "Traceback" not in err


@pytest.mark.slow
def test_pretrain_writes_a_grounded_selector_with_its_manifest(tmp_path, tiny_selector_dir, capsys):
    out = tmp_path / "g"
    assert main(["models", "pretrain", str(out), "--base", str(tiny_selector_dir), "--steps", "2",
                 "--seed", "1"]) == 0
    assert "wrote grounding-pretrained selector" in capsys.readouterr().out
    made = json.loads((out / "viarl_pretrain.json").read_text())
    assert made["settings"]["steps"] == 2 and made["settings"]["seed"] == 1
    assert (out / "model.safetensors").is_file()


@pytest.mark.parametrize("args, message", [
    (["--steps", "0"], "--steps must be >= 1"),
    (["--select", "8"], "must be smaller than --candidates"),
    (["--steps", "x"], "invalid int value"),
])
def test_pretrain_bad_arguments_exit_2(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as e:
        raise SystemExit(main(["models", "pretrain", str(tmp_path / "m"), *args]))
    assert e.value.code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "m").exists() and not (tmp_path / "m-random").exists()
