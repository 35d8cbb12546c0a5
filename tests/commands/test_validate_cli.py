"""`viarl validate` and `viarl schema` through the real CLI: exit codes, output, no tracebacks."""

import subprocess
import sys
from pathlib import Path

import pytest

from viarl.cli import main

REPO = Path(__file__).resolve().parents[2]
NEEDLE = (REPO / "tests" / "fixtures" / "config" / "needle_frozen.yaml").read_text()  # frozen: text is mutated


@pytest.fixture(autouse=True)
def repo_cwd(monkeypatch):
    monkeypatch.chdir(REPO)


def test_validate_prints_the_resolved_tree(capsys):
    assert main(["validate", "recipes/needle.yaml", "rl.steps=7", "rl.kl_coef=0.01"]) == 0
    out = capsys.readouterr().out
    assert "is valid" in out and "steps: 7" in out and "kl_coef: 0.01" in out


def test_validate_yaml_output_reloads(capsys, tmp_path):
    assert main(["validate", "recipes/paper.yaml", "--yaml"]) == 0
    (tmp_path / "r.yaml").write_text(capsys.readouterr().out)
    assert main(["validate", str(tmp_path / "r.yaml")]) == 0


@pytest.mark.parametrize("mutation,expected", [
    (("kl_coef:", "kl_cof:"), "`rl.kl_cof`"),
    (("select: 4 ", "select: 40 "), "`frames.select`"),
    (("  candidates: 16", "  candidates: [16"), "YAML syntax error"),
    (("file: rewards/viarl.rules", "file: rewards/gone.rules"), "`rewards.file`"),
])
def test_bad_recipe_exits_2_with_the_path(mutation, expected, tmp_path, capsys):
    (tmp_path / "r.yaml").write_text(NEEDLE.replace(*mutation))
    assert main(["validate", str(tmp_path / "r.yaml")]) == 2
    err = " ".join(capsys.readouterr().err.split())  # rich wraps long lines
    assert expected in err and "Traceback" not in err


def test_unknown_override_exits_2(capsys):
    assert main(["validate", "recipes/needle.yaml", "frames.selct=2"]) == 2
    err = " ".join(capsys.readouterr().err.split())  # rich wraps long lines
    assert "`frames.selct`" in err and "did you mean" in err


def test_real_process_exits_2_without_traceback(tmp_path):
    (tmp_path / "empty.yaml").write_text("")
    for args in (["validate", str(tmp_path / "empty.yaml")], ["validate", "no/such.yaml"]):
        proc = subprocess.run([sys.executable, "-m", "viarl.cli", *args], cwd=REPO,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr and "error:" in proc.stderr


def test_schema_check_passes_on_the_committed_files(capsys):
    assert main(["schema", "--check"]) == 0


def test_schema_writes_both_files(tmp_path):
    out, docs = tmp_path / "s.json", tmp_path / "r.md"
    assert main(["schema", "--out", str(out), "--docs", str(docs)]) == 0
    assert out.read_text() == (REPO / "schema" / "recipe.schema.json").read_text()
    assert docs.read_text() == (REPO / "docs" / "recipes.md").read_text()
    out.write_text("{}\n")
    assert main(["schema", "--check", "--out", str(out), "--docs", str(docs)]) == 1


def test_validate_paper_shows_the_paper_training_format(capsys):
    assert main(["validate", "recipes/paper.yaml"]) == 0
    out = capsys.readouterr().out
    train = out[out.index("train"):out.index("eval")]
    assert "format: paper" in train and "data/paper/train.jsonl" in train
