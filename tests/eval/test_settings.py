"""The evaluation settings block (issue 23): every field, pixel limits, the prompt digest, its lines."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import torch
import transformers
from hypothesis import given, settings
from hypothesis import strategies as st

import viarl
from viarl.eval.settings import (SPACING, evaluation_settings, flatten, pixel_limits, prompt_digest,
                                 settings_lines)
from viarl.policy import prompts


@pytest.fixture(scope="module")
def processor(tiny_answer_dir):
    return transformers.AutoProcessor.from_pretrained(str(tiny_answer_dir))


def test_every_field(processor):
    size = processor.image_processor.size  # Qwen2-VL: pixel counts under edge names
    low, high = size.shortest_edge, size.longest_edge
    assert (low, high) == (784, 50176)  # what the tiny models ship (the hub's are larger)
    block = evaluation_settings(
        candidates=16, select=4, selector_size=112, answer_size=448, index_text="after", selector_tokens=64,
        answer_tokens=12, selectors={"uniform": "uniform", "trained": "runs/x/sel"}, answer="runs/x/ans",
        clip="ViT-B-32 (openai)", prefilter=64, selector_processor=processor, answer_processor=processor,
        dtypes={"selector": "bfloat16", "answer": "float32"}, seed=3, versions={"lmms_eval": "9.9"})
    assert block == {
        "settings_version": 1,
        "frames": {"candidates": 16, "select": 4, "spacing": SPACING,
                   "prefilter": {"pool": 64, "model": "ViT-B-32 (openai)"}, "extra_prefilter_rows": None},
        "selector": {"size": 112, "min_pixels": low, "max_pixels": high, "index_text": "after",
                     "max_new_tokens": 64, "decoding": "greedy", "dtype": "bfloat16"},
        "answer": {"size": 448, "min_pixels": low, "max_pixels": high, "max_new_tokens": 12,
                   "decoding": "greedy", "prompt": "viarl", "dtype": "float32"},
        "prompt_template": {"version": prompts.PROMPT_VERSION, "digest": prompt_digest()},
        "models": {"selectors": {"uniform": "uniform", "trained": "runs/x/sel"}, "answer": "runs/x/ans",
                   "clip": "ViT-B-32 (openai)"},
        "seed": 3,
        "versions": {"viarl": viarl.__version__, "transformers": transformers.__version__,
                     "torch": torch.__version__, "lmms_eval": "9.9"},
    }
    json.dumps(block)  # plain JSON types only


def test_without_models_the_pixel_limits_are_unknown():
    block = evaluation_settings(candidates=8, select=2, selector_size=56, answer_size=56, index_text="before",
                                selector_tokens=8, answer_tokens=4, selectors={"uniform": "uniform"}, answer="a")
    assert block["selector"]["min_pixels"] is None and block["answer"]["max_pixels"] is None
    assert block["frames"]["prefilter"] is None and block["models"]["clip"] is None


def test_an_unknown_answer_prompt_is_refused():
    with pytest.raises(ValueError, match="answer_prompt"):
        evaluation_settings(candidates=8, select=2, selector_size=56, answer_size=56, index_text="before",
                            selector_tokens=8, answer_tokens=4, selectors={}, answer="a", answer_prompt="mine")


@pytest.mark.parametrize("image_processor, expected", [
    (SimpleNamespace(min_pixels=3136, max_pixels=802816, size=None), (3136, 802816)),  # Qwen2.5-VL's own
    (SimpleNamespace(min_pixels=None, max_pixels=None, size={"shortest_edge": 10, "longest_edge": 99}), (10, 99)),
    (SimpleNamespace(size=SimpleNamespace(shortest_edge=5, longest_edge=7)), (5, 7)),
    (SimpleNamespace(size=None), (None, None)),
])
def test_pixel_limits_read_every_spelling(image_processor, expected):
    got = pixel_limits(SimpleNamespace(image_processor=image_processor))
    assert (got["min_pixels"], got["max_pixels"]) == expected
    assert pixel_limits(None) == {"min_pixels": None, "max_pixels": None}


@pytest.mark.parametrize("name", ["SELECTOR_SYSTEM", "ANSWER_INSTRUCTION"])
def test_the_prompt_digest_follows_the_prompts_wording(monkeypatch, name):
    before = prompt_digest()
    assert prompt_digest() == before  # stable
    monkeypatch.setattr(prompts, name, getattr(prompts, name) + " Be brief.")
    assert prompt_digest() != before


NAMES = st.text(st.characters(min_codepoint=97, max_codepoint=122), min_size=1, max_size=4)
LEAVES = st.none() | st.booleans() | st.integers() | st.text(max_size=6) | st.just({})
BLOCKS = st.recursive(st.dictionaries(NAMES, LEAVES, max_size=3),
                      lambda inner: st.dictionaries(NAMES, inner | LEAVES, min_size=1, max_size=3), max_leaves=12)


def _unflatten(flat: dict) -> dict:
    out: dict = {}
    for key, value in flat.items():
        *path, last = key.split(".")
        node = out
        for part in path:
            node = node.setdefault(part, {})
        node[last] = value
    return out


@settings(max_examples=80, deadline=None)
@given(block=BLOCKS)
def test_lines_give_the_block_back(block):
    """Every leaf is one `key: value` line, and the lines rebuild the block (empty dicts are leaves)."""
    lines = settings_lines(block)
    parsed = {k: json.loads(v) for k, v in (line.split(": ", 1) for line in lines)}
    assert parsed == flatten(block) and len(lines) == len(parsed)
    assert _unflatten(parsed) == block
