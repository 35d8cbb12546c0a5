"""The byte-level tokenizer: every byte one token, tags and Qwen specials single tokens."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import unicodedata

from viarl.models.tokenizer import (
    QWEN_ADDED_TOKENS,
    QWEN_SPECIAL_TOKENS,
    SELECTOR_TAGS,
    build_tokenizer,
    byte_level_vocab,
)

ALL_ADDED = QWEN_SPECIAL_TOKENS + QWEN_ADDED_TOKENS + SELECTOR_TAGS


@pytest.fixture(scope="module")
def tok():
    return build_tokenizer()


def test_vocab_maps_each_byte_to_its_own_id():
    vocab = byte_level_vocab()
    assert sorted(vocab.values()) == list(range(256))
    assert all(len(ch) == 1 and not ch.isspace() for ch in vocab)


def test_specials_and_tags_are_single_tokens(tok):
    for t in ALL_ADDED:
        ids = tok(t, add_special_tokens=False)["input_ids"]
        assert len(ids) == 1 and ids[0] >= 256, t
    # Qwen's order is kept: <|endoftext|> first, then <|im_start|>, <|im_end|>.
    assert tok.convert_tokens_to_ids(["<|endoftext|>", "<|im_start|>", "<|im_end|>"]) == [256, 257, 258]


def test_tags_survive_skip_special_tokens(tok):
    text = "<think>frame 3 is red</think><index>3, 14</index>"
    ids = tok("<|im_start|>" + text + "<|im_end|>", add_special_tokens=False)["input_ids"]
    assert tok.decode(ids, skip_special_tokens=True) == text


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=40))
def test_every_byte_is_one_token_and_text_round_trips(tok, text):
    # Text that contains a tag or special token string is encoded as that token instead.
    if any(t in text for t in ALL_ADDED):
        return
    ids = tok(text, add_special_tokens=False)["input_ids"]
    normal = unicodedata.normalize("NFC", text)  # Qwen tokenizers NFC-normalise first
    assert ids == list(normal.encode("utf-8"))
    assert tok.decode(ids) == normal


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 9999), min_size=1, max_size=8))
def test_digits_are_single_tokens(tok, numbers):
    text = "<index>" + ", ".join(map(str, numbers)) + "</index>"
    ids = tok(text, add_special_tokens=False)["input_ids"]
    digits = [i for i in ids if ord("0") <= i <= ord("9")]
    assert len(digits) == sum(len(str(n)) for n in numbers)
