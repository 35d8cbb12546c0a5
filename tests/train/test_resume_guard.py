"""Resume guarantees (issue 14, points 1-3): a changed recipe is refused unless accepted on purpose,
damaged run files explain themselves (and name the checkpoint to resume from), and a copied run
resumes from its own files."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest
import yaml

from viarl.cli import main
from viarl.train import checkpoint as ckpt

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "needle.yaml"
WARMUPS = {"stages.cycles": 0, "evaluation.selectors": "[uniform]", "evaluation.after_each_cycle": "false"}
DONE = ["pre0-warmup", "pre1-answer_warmup", "c0-eval"]


@pytest.fixture(scope="module")
def base_run(shared_runs):
    """A finished run of the two warm-ups and an evaluation (DONE), and its overrides."""
    run, args = shared_runs("base", **WARMUPS)
    old = os.umask(0o022)  # the run folder's modes are checked below
    try:
        assert main(["run", str(RECIPE), *args]) == 0
    finally:
        os.umask(old)
    return run, args


@pytest.fixture
def run_copy(base_run, tmp_path):
    """A private copy of the base run (the tests damage it), with the overrides naming it."""
    run, args = base_run
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    return copy, [*args, f"output_dir={copy}"]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _err(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return " ".join(err.split())


def test_state_json_stores_paths_relative_to_the_run(base_run):
    run, _ = base_run
    state = json.loads((run / "state.json").read_text())
    assert state["models"] == {"selector": "checkpoints/pre0-warmup/selector",
                               "answer": "checkpoints/pre1-answer_warmup/answer"}


def test_the_run_folder_honours_the_umask(base_run):
    run, _ = base_run
    modes = {p.relative_to(run): stat.S_IMODE(p.stat().st_mode) for p in [run, *run.rglob("*")]}
    assert {m for p, m in modes.items() if (run / p).is_dir()} == {0o755}
    assert {str(p): oct(m) for p, m in modes.items() if (run / p).is_file() and m != 0o644} == {}
    assert {Path("recipe.yaml"), Path("state.json"), Path("summary.json"), Path("eval.jsonl"),
            Path("checkpoints/pre0-warmup/selector/model.safetensors")} <= set(modes)


def test_a_changed_recipe_is_refused_naming_every_field(run_copy, capsys):
    run, args = run_copy
    before = _snapshot(run)
    # The order: overrides after --resume are overrides too.
    assert main(["run", str(RECIPE), *args, "--resume", str(run), "rl.lr=0.5", "frames.select=3"]) == 2
    err = _err(capsys)
    assert "2 fields" in err and "rl.lr: 0.001 → 0.5" in err and "frames.select: 2 → 3" in err
    assert "--allow-changes" in err
    assert _snapshot(run) == before


def test_allowed_changes_keep_the_original_recipe_and_are_recorded(run_copy, capsys):
    run, args = run_copy
    original = (run / "recipe.yaml").read_bytes()
    step = json.loads((run / "state.json").read_text())["global_step"]
    assert main(["run", str(RECIPE), *args, "logging.sample_every=7", "--resume", str(run), "--allow-changes"]) == 0
    assert main(["run", str(RECIPE), *args, "logging.sample_every=7", "--resume", str(run)]) == 0  # accepted now
    assert main(["run", str(RECIPE), *args, "logging.sample_every=9", "--resume", str(run), "--allow-changes"]) == 0
    assert (run / "recipe.yaml").read_bytes() == original
    entries = yaml.safe_load((run / "recipe.changes.yaml").read_text())
    assert [e["changes"] for e in entries] == [{"logging.sample_every": {"old": 50, "new": 7}},
                                               {"logging.sample_every": {"old": 7, "new": 9}}]
    assert entries[0]["global_step"] == step and step > 0


def test_a_copied_run_resumes_from_its_own_files(base_run, tmp_path, capsys):
    run, args = base_run
    moved = tmp_path / "elsewhere" / "moved"
    shutil.copytree(run, tmp_path / "original")
    shutil.copytree(tmp_path / "original", moved)
    shutil.rmtree(tmp_path / "original")  # it must never be read
    # One more (short) stage trains from the copy's own checkpoints.
    code = main(["run", str(RECIPE), *args, f"output_dir={moved}", "stages.cycles=1", "stages.cycle=[sft]",
                 "--resume", str(moved), "--allow-changes"])
    assert code == 0, _err(capsys)
    state = json.loads((moved / "state.json").read_text())
    assert state["done"][-2:] == ["c1-sft", "c1-eval"] and state["models"]["answer"] == "checkpoints/c1-sft/answer"
    assert (moved / "checkpoints" / "c1-sft" / "answer" / "config.json").exists()


def test_absolute_paths_of_an_older_state_are_read_inside_the_run(tmp_path):
    stored = "/somewhere/else/run/checkpoints/pre0-warmup/selector"
    assert ckpt.in_run(tmp_path, stored) == tmp_path / "checkpoints" / "pre0-warmup" / "selector"
    assert ckpt.run_relative(tmp_path, tmp_path / "checkpoints" / "x") == "checkpoints/x"


def test_truncated_weights_name_the_file_and_the_older_checkpoint(run_copy, capsys):
    run, args = run_copy
    weights = run / "checkpoints" / "pre1-answer_warmup" / "answer" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    before = _snapshot(run)
    assert main(["run", str(RECIPE), *args, "--resume", str(run)]) == 2
    err = _err(capsys)
    assert str(weights) in err and "cut short" in err
    assert "--from-checkpoint pre0-warmup/3" in err
    assert _snapshot(run) == before
    # Resuming from the named checkpoint runs the answer warm-up again, over the damaged folder.
    assert main(["run", str(RECIPE), *args, "--resume", str(run), "--from-checkpoint", "pre0-warmup/3"]) == 0
    assert json.loads((run / "state.json").read_text())["done"] == DONE
    aside = run / "checkpoints" / "pre1-answer_warmup.set-aside" / "answer" / "model.safetensors"
    assert aside.read_bytes() == before[str(weights.relative_to(run))]  # the damaged file is kept
    assert main(["run", str(RECIPE), *args, "--resume", str(run)]) == 0  # whole again


def test_a_save_killed_between_its_two_renames_is_restored_on_resume(run_copy, capsys):
    """Where folders cannot be swapped in one step, a kill between the two renames leaves the model
    folder only as a hidden complete sibling; resume puts it back and goes on."""
    run, args = run_copy
    folder = run / "checkpoints" / "pre1-answer_warmup" / "answer"
    hidden = folder.with_name(".answer.k1ll3d.tmp")
    folder.rename(hidden)
    assert main(["run", str(RECIPE), *args, "--resume", str(run)]) == 0, _err(capsys)
    assert "restored checkpoints/pre1-answer_warmup/answer" in " ".join(capsys.readouterr().out.split())
    assert (folder / "model.safetensors").is_file() and not hidden.exists()


def test_a_truncated_state_json_offers_the_newest_checkpoint(run_copy, capsys):
    run, args = run_copy
    state = run / "state.json"
    state.write_bytes(state.read_bytes()[:20])
    before = _snapshot(run)
    assert main(["run", str(RECIPE), *args, "--resume", str(run)]) == 2
    err = _err(capsys)
    assert str(state) in err and "not valid JSON" in err and "--from-checkpoint pre1-answer_warmup/2" in err
    assert _snapshot(run) == before
    assert main(["run", str(RECIPE), *args, "--resume", str(run), "--from-checkpoint", "pre1-answer_warmup/2"]) == 0
    rebuilt = json.loads(state.read_text())
    assert rebuilt["done"] == DONE and rebuilt["global_step"] == 5
    assert (run / "state.json.set-aside").read_bytes() == before["state.json"]


@pytest.mark.parametrize("damage,what", [("empty-trainer", "empty (0 bytes)"), ("truncated-model", "cut short")])
def test_a_damaged_mid_stage_checkpoint_explains_itself(run_copy, capsys, damaged_partial, damage, what):
    run, args = run_copy
    args = [*args, "stages.cycles=1", "stages.cycle=[sft]"]
    bad = damaged_partial(run, damage)  # the next stage's mid-stage checkpoint, damaged
    assert main(["run", str(RECIPE), *args, "--resume", str(run), "--allow-changes"]) == 2
    err = _err(capsys)
    assert str(bad) in err and what in err and "--from-checkpoint pre1-answer_warmup/2" in err
    assert not (run / "recipe.changes.yaml").exists()  # nothing recorded for a refused resume


class _Call:
    """Pickles as a call of `os.system` (what a hostile run folder would carry)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        import os

        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("file", ["trainer.pt", "model.pt"])
def test_a_checkpoint_carrying_a_pickled_call_is_refused_and_never_run(run_copy, capsys, tmp_path, file):
    import torch

    from viarl.train import checkpoint as ckpt

    run, args = run_copy
    args = [*args, "stages.cycles=1", "stages.cycle=[sft]"]
    layer = torch.nn.Linear(2, 2)
    opt = torch.optim.SGD(layer.parameters(), lr=0.1)
    folder = run / "checkpoints" / "c1-sft.partial"  # the next stage's checkpoint, complete ...
    ckpt.save_partial(folder, layer, opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0), 1, None, {})
    marker = tmp_path / "ran"
    saved = torch.load(folder / file, weights_only=True)
    saved["evil"] = _Call(marker)  # ... but with a call hidden in one of its files
    torch.save(saved, folder / file)
    assert main(["run", str(RECIPE), *args, "--resume", str(run), "--allow-changes"]) == 2
    err = _err(capsys)
    assert not marker.exists()
    assert str(folder / file) in err and "refused" in err


def test_sharded_metadata_carrying_a_pickled_call_is_refused(tmp_path):
    import pickle

    from viarl.train.sharded_checkpoint import SafeReader, UnsafeCheckpoint

    marker = tmp_path / "ran"
    (tmp_path / ".metadata").write_bytes(pickle.dumps(_Call(marker)))
    with pytest.raises(UnsafeCheckpoint, match="posix.system|os.system|nt.system"):
        SafeReader(str(tmp_path)).read_metadata()
    assert not marker.exists()


def test_sharded_metadata_that_dcp_writes_is_read(tmp_path):
    """The restricted unpickler admits everything a real checkpoint's metadata names."""
    import warnings

    import torch
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import get_model_state_dict, get_optimizer_state_dict

    from viarl.train.sharded_checkpoint import SafeReader

    model = torch.nn.Linear(3, 3)
    opt = torch.optim.AdamW(model.parameters())
    model(torch.ones(1, 3)).sum().backward()
    opt.step()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "assuming the intent is to save in a single process"
        dcp.save({"model": get_model_state_dict(model), "optim": get_optimizer_state_dict(model, opt)},
                 checkpoint_id=str(tmp_path), no_dist=True)
    meta = SafeReader(str(tmp_path)).read_metadata()
    assert "model.weight" in meta.state_dict_metadata
