"""Trust and safety, the cases that are not an exit 2: what must now work, print as written, stay
small, or never be deleted (the exit-2 cases are in tests/commands/test_bad_inputs_trust.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from viarl.atomic import SaveError, atomic_dir, replaceable
from viarl.cli import main
from viarl.config.load import load_recipe
from viarl.data.loaders import load_dataset
from viarl.data.skips import VIDEO_OUTSIDE
from viarl.rewards import parse_rules

REPO = Path(__file__).resolve().parents[2]
NEEDLE = str(REPO / "recipes" / "needle.yaml")


def test_a_yaml_merge_key_is_accepted_and_overridden_keys_win(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"base: {NEEDLE}\nsft: &tuned\n  lr: 1.0e-5\n  steps: 7\n"
                      "answer_warmup:\n  <<: *tuned\n  steps: 3\n")
    r = load_recipe(recipe)
    assert (r.answer_warmup.lr, r.answer_warmup.steps, r.sft.steps) == (1e-5, 3, 7)


def test_rules_as_deep_as_the_parser_accepts_are_transformed():
    # 70 nested parentheses are ~700 levels of parse tree: a recursive transformer hit Python's limit.
    rules = parse_rules("component x = " + "(" * 70 + "len(completion) + 1" + ")" * 70 + "\n"
                        "component y = " + " + ".join(["1"] * 99) + "\n"
                        "component z = " + "min(" * 60 + "1" + ", 2)" * 60 + "\n")
    out = rules.compile()({"completion": ["abc"]})
    assert (float(out["x"][0]), float(out["y"][0]), float(out["z"][0])) == (4.0, 99.0, 1.0)


@pytest.mark.parametrize("name", ["exp[lr=1e-3]", ":x: [bold]b"])
def test_echoed_paths_print_as_written(name, tmp_path, capsys):
    rules = tmp_path / name / "r.rules"
    rules.parent.mkdir()
    rules.write_text("component x = 1\n")
    assert main(["rewards", "check", str(rules)]) == 0
    out = "".join(capsys.readouterr().out.split())  # rich wraps long lines anywhere
    assert "".join(f"{rules}".split()) in out


def test_a_10_mb_rule_line_gives_a_short_message(tmp_path, capsys):
    rules = tmp_path / "long.rules"
    rules.write_text("component x = " + "1 + " * 900_000 + "@\n")  # 3.6 MB on one line
    assert main(["rewards", "check", str(rules)]) == 2
    err = capsys.readouterr().err
    assert "long.rules:1:3600015" in err and len(err) < 2_000
    rules.write_text("component x = " + "1 + " * 2_500_000 + "@\n")  # 10 MB: past the size cap
    assert main(["rewards", "check", str(rules)]) == 2
    err = capsys.readouterr().err
    assert "too large" in err and len(err) < 2_000


def test_a_full_disk_while_saving_weights_is_one_message_and_leaves_nothing(tmp_path):
    # RLIMIT_FSIZE makes the weights file's write fail as a full disk would (EFBIG, not a kill).
    out = tmp_path / "models" / "m"
    script = ("import resource, signal, sys\nsignal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
              "resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, 300_000))\n"
              "from viarl.cli import main\nsys.exit(main(sys.argv[1:]))\n")
    done = subprocess.run([sys.executable, "-c", script, "models", "tiny", str(out), "--role", "selector"],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "cannot save" in done.stderr and str(out) in done.stderr
    assert sorted(p.name for p in out.parent.iterdir()) == []  # no half-written or temporary folder


def test_atomic_dir_never_removes_a_folder_it_did_not_create(tmp_path):
    theirs = tmp_path / "model"
    (theirs / "thesis.tex").parent.mkdir()
    (theirs / "thesis.tex").write_text("mine")
    with pytest.raises(SaveError):
        with atomic_dir(theirs) as tmp:
            (tmp / "weights").write_text("new")
    assert (theirs / "thesis.tex").read_text() == "mine" and not replaceable(theirs)
    # A folder it wrote is replaced; a sibling named like its old copy is the user's and stays.
    ours = tmp_path / "ckpt"
    with atomic_dir(ours) as tmp:
        (tmp / "a").write_text("1")
    (tmp_path / ".ckpt.old").mkdir()
    (tmp_path / ".ckpt.old" / "keep.txt").write_text("mine")
    with atomic_dir(ours) as tmp:
        (tmp / "a").write_text("2")
    assert (ours / "a").read_text() == "2" and (tmp_path / ".ckpt.old" / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".ckpt.old", "ckpt", "model"]


def _row(video: str, **extra) -> str:
    return json.dumps({"id": video, "video": video, "question": "Q?", "options": ["x", "y"], "answer": "A",
                       "question_type": "t", **extra}) + "\n"


def test_video_dir_confines_every_video_path(tmp_path, needle_test_dir):
    video = next((needle_test_dir / "video").rglob("*.mp4"))
    inside, outside = tmp_path / "videos", tmp_path / "elsewhere"
    inside.mkdir()
    outside.mkdir()
    shutil.copy(video, inside / "in.mp4")
    shutil.copy(video, outside / "out.mp4")
    (inside / "link.mp4").symlink_to(outside / "out.mp4")
    ann = tmp_path / "a.jsonl"
    ann.write_text(_row("in.mp4") + _row("../elsewhere/out.mp4") + _row(str(outside / "out.mp4"))
                   + _row("link.mp4"))
    free = load_dataset("jsonl", ann, video_dir=None)
    assert len(free.samples) == 1  # relative to the file's folder: only the absolute path resolves
    confined = load_dataset("jsonl", ann, video_dir=inside)
    assert [s.id for s in confined.samples] == ["in.mp4"]
    assert confined.skips.counts[VIDEO_OUTSIDE] == 3


def test_a_paper_question_type_list_names_its_first_type(tmp_path, needle_test_dir):
    video = next((needle_test_dir / "video").rglob("*.mp4"))
    row = {"messages": [{"role": "user", "content": "<video>Which?\nOptions:\nA. x\nB. y"},
                        {"role": "assistant", "content": "A"}], "videos": [str(video)],
           "meta": {"question_type": ["a", "b"]}}
    bad = dict(row, meta={"question_type": [["a"]]})
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps(row) + "\n" + json.dumps(bad) + "\n")
    loaded = load_dataset("paper", path)
    assert [s.question_type for s in loaded.samples] == ["a"] and loaded.skips.total == 1


@pytest.mark.slow
def test_non_finite_weights_are_never_saved(tmp_path, tiny_run_args, tiny_selector_dir, monkeypatch, capsys):
    # An embedding row no prompt uses holds inf: losses and gradients stay finite, the weights do not.
    from safetensors.torch import load_file, save_file

    selector = tmp_path / "selector"
    shutil.copytree(tiny_selector_dir, selector)
    weights = load_file(selector / "model.safetensors")
    name = next(k for k in weights if k.endswith("embed_tokens.weight"))
    weights[name][781] = float("inf")  # <|video_pad|>: image prompts never use it
    save_file(weights, selector / "model.safetensors", metadata={"format": "pt"})
    monkeypatch.chdir(REPO)
    args = tiny_run_args(tmp_path, **{"models.selector.path": selector, "stages.before": "[warmup]",
                                      "stages.cycles": 0, "warmup.steps": 1, "evaluation.after_each_cycle": "false",
                                      "evaluation.selectors": "[uniform]"})
    assert main(["run", NEEDLE, *args]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "hold inf or nan" in err and "Traceback" not in err
    assert not (tmp_path / "run" / "checkpoints" / "pre0-warmup").exists()
