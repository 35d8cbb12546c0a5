"""Issue 14, point 4: checks before work starts — `viarl validate` and `viarl run` refuse, before
loading any model, rule inputs the data lacks, a missing local model, an output folder that is a file."""

from __future__ import annotations

from pathlib import Path

import pytest

from viarl.cli import main

REPO = Path(__file__).resolve().parents[2]
NEEDLE = str(REPO / "recipes" / "needle.yaml")


def _err(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return " ".join(err.split())


@pytest.mark.parametrize("command", ["validate", "run"])
def test_a_rule_input_the_data_lacks_is_refused_with_its_field(monkeypatch, tmp_path, capsys, command):
    monkeypatch.chdir(REPO)
    assert main([command, NEEDLE, "rewards.file=rewards/shaped.rules", f"output_dir={tmp_path / 'run'}"]) == 2
    err = _err(capsys)
    assert "`rewards.file`" in err and "input `difficulty`" in err and "mlvu" in err and "fix:" in err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("command", ["validate", "run"])
def test_a_missing_local_model_is_refused_not_asked_of_the_hub(monkeypatch, tmp_path, capsys, command):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models").mkdir()
    assert main([command, NEEDLE, "models.answer.path=models/nope", "models.answer.tiny_seed=null",
                 "models.answer.pretrain=null"]) == 2
    err = _err(capsys)
    assert "`models.answer.path`" in err and "`models/nope` does not exist" in err and "tiny_seed" in err
    assert not (tmp_path / "runs").exists()  # no empty run folder left behind


@pytest.mark.parametrize("command", ["validate", "run"])
def test_an_output_dir_that_is_a_file_is_refused(tmp_path, capsys, command):
    taken = tmp_path / "taken"
    taken.write_text("keep me")
    for out in (taken, taken / "run"):
        assert main([command, NEEDLE, f"output_dir={out}"]) == 2
        err = _err(capsys)
        assert "`output_dir`" in err and "is an existing file" in err
    assert taken.read_text() == "keep me"


def test_frames_out_that_is_a_file_is_refused(tmp_path, capsys, needle_test_dir):
    taken = tmp_path / "taken.png"
    taken.write_bytes(b"png")
    video = next((needle_test_dir / "video").rglob("*.mp4"))
    assert main(["frames", str(video), "-T", "4", "--out", str(taken)]) == 2
    assert "--out" in _err(capsys) and taken.read_bytes() == b"png"
