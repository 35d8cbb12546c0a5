"""Grounding pretraining: reproducible from its seed, recorded in a manifest, and blind to needle data."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from viarl.errors import UserError
from viarl.train.pretrain import MANIFEST, PretrainSettings, check_pretrained, pretrain_selector, read_manifest

SETTINGS = PretrainSettings(steps=3, batch_size=2, warmup_steps=1, first_task_steps=1, seed=4)
OPENED: list[str] = []
WATCH = {"on": False}


def _audit(event, args):
    if WATCH["on"] and event == "open" and args and isinstance(args[0], (str, bytes, Path)):
        OPENED.append(str(args[0]))


sys.addaudithook(_audit)  # audit hooks cannot be removed; WATCH switches this one on and off


@pytest.fixture(scope="module")
def pretrained(tiny_selector_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("pre") / "grounded"
    OPENED.clear()
    WATCH["on"] = True
    try:
        manifest = pretrain_selector(tiny_selector_dir, out, SETTINGS)
    finally:
        WATCH["on"] = False
    return out, manifest, list(OPENED)


def test_pretraining_reads_no_needle_data(pretrained):
    _, _, opened = pretrained
    assert opened, "the audit hook saw no file at all"
    assert not [p for p in opened if "truth.json" in p or "needle" in Path(p).name or "1_needle" in p]


def test_manifest_records_settings_and_loads_back(pretrained, tiny_selector_dir):
    out, manifest, _ = pretrained
    assert read_manifest(out) == manifest
    assert manifest["settings"]["steps"] == 3 and manifest["base"] == str(tiny_selector_dir)
    assert 0.0 <= manifest["held_out_accuracy"] <= 1.0
    assert (out / "config.json").is_file() and (out / MANIFEST).is_file()


@pytest.mark.slow
def test_same_seed_same_weights_and_training_changes_them(pretrained, tiny_selector_dir, tmp_path):
    out, _, _ = pretrained
    again = pretrain_selector(tiny_selector_dir, tmp_path / "again", SETTINGS)
    a, b = load_file(out / "model.safetensors"), load_file(tmp_path / "again" / "model.safetensors")
    base = load_file(Path(tiny_selector_dir) / "model.safetensors")
    assert again["final_loss"] == read_manifest(out)["final_loss"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], base[k]) for k in a)


def test_reusing_a_model_pretrained_otherwise_is_refused(pretrained):
    out, _, _ = pretrained
    check_pretrained(out, SETTINGS)  # same settings: fine
    with pytest.raises(UserError, match="steps: 3 -> 5") as e:
        check_pretrained(out, PretrainSettings(**{**SETTINGS.__dict__, "steps": 5}))
    assert "delete" in e.value.fix


def test_a_setting_added_later_reads_as_its_default(pretrained):
    """A manifest written before `question_position` existed was made with the question after the
    frames: it still matches that default, and a recipe asking for "before" is refused."""
    import json
    out, _, _ = pretrained
    path = out / MANIFEST
    manifest = json.loads(path.read_text())
    del manifest["settings"]["question_position"]
    path.write_text(json.dumps(manifest))
    check_pretrained(out, SETTINGS)
    with pytest.raises(UserError, match="question_position: 'after' -> 'before'"):
        check_pretrained(out, PretrainSettings(**{**SETTINGS.__dict__, "question_position": "before"}))



def test_frame_mark_targets_mark_the_asked_frame_and_fit_the_token_budget():
    import numpy as np
    from viarl.models.tokenizer import build_tokenizer
    from viarl.selection import parse_selection
    from viarl.train.pretrain import clip_example, target_tokens

    s = PretrainSettings(think_frames=True, think_words=0)
    tok = build_tokenizer()
    rng = np.random.default_rng(0)
    for _ in range(20):
        _, images, target, clip = clip_example(rng, s)
        think = target.split("<think>")[1].split("</think>")[0].split(",")
        assert [m[-1] for m in think] == ["y" if i == clip.target else "n" for i in range(s.candidates)]
        assert clip.target in parse_selection(target, s.candidates, s.select)
        # +2: the chat template's end-of-turn tokens follow the completion
        assert len(tok(target)["input_ids"]) + 2 <= target_tokens(s)


def _from_answer_recipe(tmp_path, **extra):
    from viarl.config.load import load_recipe
    over = {"models.selector.path": str(tmp_path / "selector"), "models.answer.path": str(tmp_path / "answer"),
            "models.selector.pretrain.start_from": "answer", "models.selector.pretrain.steps": 2,
            "models.selector.pretrain.first_task_steps": 1, "models.selector.pretrain.batch_size": 2,
            "models.answer.pretrain.steps": 2, "models.answer.pretrain.batch_size": 2, **extra}
    return load_recipe("recipes/needle.yaml", [f"{k}={v}" for k, v in over.items()])


@pytest.mark.slow
def test_a_selector_started_from_the_answer_model_holds_its_weights_and_follows_it(tmp_path):
    """start_from: answer grows the selector from the pretrained answer model (made first), records
    that model's manifest, and is refused once the answer model has been made again."""
    import shutil

    from viarl.models.tiny import write_tiny_model
    from viarl.train.context import ensure_model

    recipe = _from_answer_recipe(tmp_path, **{"models.answer.tiny_seed": 7})
    m = recipe.models
    ensure_model(m.answer, "answer", recipe)
    ensure_model(m.selector, "selector", recipe)
    made = read_manifest(tmp_path / "selector")
    assert made["base"] == str(tmp_path / "answer") and made["settings"]["start_from"] == "answer"
    assert made["base_manifest"] == read_manifest(tmp_path / "answer")
    assert not (tmp_path / "selector-random").exists()  # no random selector was made
    # two optimiser steps move the weights only a little: far nearer the answer model (tiny seed 7)
    # than the random selector the recipe would otherwise start from (tiny seed 0)
    write_tiny_model(tmp_path / "ref", "selector", seed=m.selector.tiny_seed)
    sel, ans = load_file(tmp_path / "selector" / "model.safetensors"), load_file(tmp_path / "answer" / "model.safetensors")
    rnd = load_file(tmp_path / "ref" / "model.safetensors")
    near = sum(float((sel[k] - ans[k]).norm()) for k in sel)
    assert near < 0.5 * sum(float((sel[k] - rnd[k]).norm()) for k in sel)
    ensure_model(m.selector, "selector", recipe)  # same answer model: reused
    # the same folder asked to start from random: the changed setting is named, not the base
    with pytest.raises(UserError, match="start_from: 'answer' -> 'random'") as e:
        check_pretrained(tmp_path / "selector", PretrainSettings(**{**made["settings"], "tasks": tuple(made["settings"]["tasks"]),
                                                                     "start_from": "random"}), tmp_path / "answer")
    assert e.value.where == "models.selector.path"
    # an answer model pretrained otherwise is named by its own field
    other = _from_answer_recipe(tmp_path, **{"models.answer.tiny_seed": 7, "models.answer.pretrain.steps": 3})
    with pytest.raises(UserError, match="steps: 2 -> 3") as e:
        ensure_model(other.models.answer, "answer", other)
    assert e.value.where == "models.answer.path" and "models.answer.path" in e.value.fix

    shutil.rmtree(tmp_path / "answer")
    again = _from_answer_recipe(tmp_path, **{"models.answer.tiny_seed": 7, "models.answer.pretrain.seed": 9})
    ensure_model(again.models.answer, "answer", again)
    with pytest.raises(UserError, match="another version") as e:
        ensure_model(again.models.selector, "selector", again)
    assert e.value.where == "models.selector.pretrain.start_from" and "delete" in e.value.fix


def test_a_selector_to_start_from_an_answer_model_not_on_disk_is_a_user_error(tmp_path):
    """A hub id passes the recipe's path check, but grounding pretraining needs the weights here."""
    from viarl.train.context import ensure_model

    recipe = _from_answer_recipe(tmp_path, **{"models.answer.path": "someorg/some-vlm", "models.answer.tiny_seed": "null",
                                              "models.answer.pretrain": "null"})
    with pytest.raises(UserError, match="not a folder here") as e:
        ensure_model(recipe.models.selector, "selector", recipe)
    assert e.value.where == "models.selector.pretrain.start_from"
    assert not (tmp_path / "selector").exists()
