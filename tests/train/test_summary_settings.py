"""summary.json carries the evaluation settings block (issue 23), field by field, for a real run."""

from __future__ import annotations

import json

import pytest
import torch
import transformers

import viarl
from viarl.config.load import load_recipe
from viarl.eval.settings import SPACING, prompt_digest
from viarl.policy.prompts import PROMPT_VERSION


@pytest.mark.slow
def test_summary_json_carries_the_settings_block(tiny_trained_run, tiny_answer_dir):
    r = load_recipe(tiny_trained_run / "recipe.yaml")  # the run's fully resolved recipe
    summary = json.loads((tiny_trained_run / "summary.json").read_text())
    size = transformers.AutoProcessor.from_pretrained(str(tiny_answer_dir)).image_processor.size
    limits = {"min_pixels": size.shortest_edge, "max_pixels": size.longest_edge}
    assert r.frames.prefilter is None and r.evaluation.prefilter is None  # conftest's tiny run
    assert summary["settings"] == {
        "settings_version": 1,
        "frames": {"candidates": r.frames.candidates, "select": r.frames.select, "spacing": SPACING,
                   "prefilter": None, "extra_prefilter_rows": None},
        "selector": {"size": r.frames.selector_size, **limits, "index_text": r.frames.index_text,
                     **({} if r.frames.question_position == "after" else {"question_position": r.frames.question_position}),
                     "max_new_tokens": 16, "decoding": "greedy", "dtype": r.models.selector.dtype},
        "answer": {"size": r.frames.answer_size, **limits, "max_new_tokens": r.models.answer.max_new_tokens,
                   "decoding": "greedy", "prompt": "viarl", "dtype": r.models.answer.dtype},
        "prompt_template": {"version": PROMPT_VERSION, "digest": prompt_digest()},
        # the models the last evaluation used: the last stage's checkpoints, relative to the run
        "models": {"selectors": {"trained": "checkpoints/c1-rl/selector", "uniform": "uniform"},
                   "answer": "checkpoints/c1-sft/answer", "clip": None},
        "seed": r.seed,
        "versions": {"viarl": viarl.__version__, "transformers": transformers.__version__,
                     "torch": torch.__version__},
    }
    assert summary["models"] == {"selector": "checkpoints/c1-rl/selector", "answer": "checkpoints/c1-sft/answer"}
