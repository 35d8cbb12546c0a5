"""Multiple-choice pretraining of the answer model: recorded in a manifest, refused when made
otherwise, blind to needle data, and its target is the option's text."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from viarl.errors import UserError
from viarl.train.answer_pretrain import AnswerPretrainSettings, choice_example, pretrain_answer
from viarl.train.pretrain import MANIFEST, check_pretrained, read_manifest

SETTINGS = AnswerPretrainSettings(steps=3, batch_size=2, warmup_steps=1, seed=4)
OPENED: list[str] = []
WATCH = {"on": False}


def _audit(event, args):
    if WATCH["on"] and event == "open" and args and isinstance(args[0], (str, bytes, Path)):
        OPENED.append(str(args[0]))


sys.addaudithook(_audit)


@pytest.fixture(scope="module")
def pretrained(tiny_answer_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("pre") / "answer"
    OPENED.clear()
    WATCH["on"] = True
    try:
        manifest = pretrain_answer(tiny_answer_dir, out, SETTINGS)
    finally:
        WATCH["on"] = False
    return out, manifest, list(OPENED)


def test_pretraining_reads_no_needle_data(pretrained):
    _, _, opened = pretrained
    assert opened
    assert not [p for p in opened if "truth.json" in p or "needle" in Path(p).name or "1_needle" in p]


def test_manifest_records_settings_and_other_settings_are_refused(pretrained, tiny_answer_dir):
    out, manifest, _ = pretrained
    assert read_manifest(out) == manifest and (out / MANIFEST).is_file()
    assert manifest["settings"]["steps"] == 3 and 0.0 <= manifest["held_out_accuracy"] <= 1.0
    check_pretrained(out, SETTINGS)
    with pytest.raises(UserError, match="steps: 3 -> 4"):
        check_pretrained(out, AnswerPretrainSettings(**{**SETTINGS.__dict__, "steps": 4}))


def test_the_target_is_the_right_options_text_in_the_pipelines_prompt():
    messages, images, target, still = choice_example(np.random.default_rng(0), SETTINGS)
    assert target == still.options[still.answer] and len(images) == len(still.frames)
    text = messages[-1]["content"][-1]["text"]
    assert all(f"{letter}. {opt}" in text for letter, opt in zip("ABCD", still.options))
    assert images[0].size == (SETTINGS.answer_size, SETTINGS.answer_size)
