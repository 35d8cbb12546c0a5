"""The byte-level BPE tokenizer: lossless on any text, digits and tags single tokens, deterministic."""

from __future__ import annotations

import json
import subprocess
import sys
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from viarl.models.tokenizer import (
    NUM_MERGES,
    QWEN_ADDED_TOKENS,
    QWEN_SPECIAL_TOKENS,
    SELECTOR_TAGS,
    bpe_vocab_and_merges,
    build_tokenizer,
    byte_level_vocab,
    learn_merges,
)

ALL_ADDED = QWEN_SPECIAL_TOKENS + QWEN_ADDED_TOKENS + SELECTOR_TAGS
BYTE_OF_CHAR = byte_level_vocab()  # byte-level character -> the byte it stands for


@pytest.fixture(scope="module")
def tok():
    return build_tokenizer()


@pytest.fixture(scope="module")
def saved(tiny_selector_dir):
    """The tokenizer as a user gets it: from a tiny checkpoint, through AutoTokenizer."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_selector_dir)


def _token_bytes(tok, ids: list[int]) -> bytes:
    """The raw bytes the BPE tokens `ids` spell (byte-level: each character is one byte)."""
    return bytes(BYTE_OF_CHAR[ch] for t in tok.convert_ids_to_tokens(ids) for ch in t)


def test_vocab_maps_each_byte_to_its_own_id():
    vocab = byte_level_vocab()
    assert sorted(vocab.values()) == list(range(256))
    assert all(len(ch) == 1 and not ch.isspace() for ch in vocab)


def test_bpe_vocab_is_bytes_then_merges_with_contiguous_ids():
    vocab, merges = bpe_vocab_and_merges()
    assert len(merges) == NUM_MERGES
    assert {t: i for t, i in vocab.items() if i < 256} == byte_level_vocab()
    assert sorted(vocab.values()) == list(range(len(vocab)))
    assert all(a in vocab and b in vocab and a + b in vocab for a, b in merges)
    # Target size of the brief: a few hundred merges, total vocab well under a thousand.
    assert 600 <= len(vocab) + len(ALL_ADDED) <= 1000


def test_specials_and_tags_are_single_tokens_after_the_bpe_vocab(tok):
    n_bpe = len(bpe_vocab_and_merges()[0])
    for t in ALL_ADDED:
        ids = tok(t, add_special_tokens=False)["input_ids"]
        assert len(ids) == 1 and ids[0] >= n_bpe, t
    # The hub layout: added tokens follow the BPE vocab, in Qwen's order.
    assert tok.convert_tokens_to_ids(list(ALL_ADDED)) == list(range(n_bpe, n_bpe + len(ALL_ADDED)))
    assert len(tok) == n_bpe + len(ALL_ADDED)


def test_tags_survive_skip_special_tokens(tok):
    text = "<think>frame 3 is red</think><index>3, 14</index>"
    ids = tok("<|im_start|>" + text + "<|im_end|>", add_special_tokens=False)["input_ids"]
    assert tok.decode(ids, skip_special_tokens=True) == text


def test_prompt_words_are_merged(tok):
    # The selector prompt's words are whole tokens (with their leading space), as on the hub.
    for word in ("You", " frames", " question", " index", " colour", " triangle", " assistant"):
        assert len(tok(word, add_special_tokens=False)["input_ids"]) == 1, word


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=60))
def test_any_text_round_trips_and_tokens_spell_its_bytes(tok, saved, text):
    # Text that contains a tag or special token string is encoded as that token instead.
    if any(t in text for t in ALL_ADDED):
        return
    ids = saved(text, add_special_tokens=False)["input_ids"]
    assert tok(text, add_special_tokens=False)["input_ids"] == ids  # saving changes nothing
    normal = unicodedata.normalize("NFC", text)  # Qwen tokenizers NFC-normalise first
    assert _token_bytes(saved, ids) == normal.encode("utf-8")
    assert saved.decode(ids) == normal
    assert len(ids) <= len(normal.encode("utf-8"))


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(0, 10**6), min_size=1, max_size=8),
       st.sampled_from(["{}", "Frame {}:", " {}", "i{},", "frame{}s"]))
def test_every_digit_is_its_own_token(saved, numbers, pattern):
    tok = saved
    text = "<index>" + ", ".join(pattern.format(n) for n in numbers) + "</index>"
    tokens = tok.convert_ids_to_tokens(tok(text, add_special_tokens=False)["input_ids"])
    digit_tokens = [t for t in tokens if any(ch.isdigit() for ch in t)]
    assert digit_tokens == [d for n in numbers for d in str(n)]
    # Byte-level digits keep their byte values as ids, whatever the merges.
    assert tok.convert_tokens_to_ids(list("0123456789")) == list(range(ord("0"), ord("9") + 1))


def test_learn_merges_takes_the_most_frequent_pair_and_breaks_ties_by_order():
    merges = learn_merges({"abab": 3, "cd": 1, "ba": 1}, 10)
    # ("a","b") occurs 6 times; then "ab"+"ab" 3; ("b","a") and ("c","d") tie at 1: lexical order.
    assert merges == [("a", "b"), ("ab", "ab"), ("b", "a"), ("c", "d")]  # stops: nothing left


@settings(max_examples=50, deadline=None)
@given(st.dictionaries(st.text("abc ", min_size=1, max_size=6), st.integers(1, 5), max_size=12),
       st.randoms(use_true_random=False))
def test_learn_merges_does_not_depend_on_input_order(words, rnd):
    items = list(words.items())
    rnd.shuffle(items)
    assert learn_merges(dict(items), 20) == learn_merges(words, 20)


def test_same_merges_in_a_fresh_process():
    # Rust hash maps are seeded per process: a fresh interpreter must learn the very same merges.
    code = ("import json; from viarl.models.tokenizer import bpe_vocab_and_merges as f; "
            "v, m = f(); print(json.dumps([v, m]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    vocab, merges = bpe_vocab_and_merges()
    assert json.loads(out.stdout) == [vocab, [list(m) for m in merges]]


def test_selector_prompt_text_is_much_shorter_than_its_bytes(tiny_selector_dir):
    from transformers import AutoProcessor

    from viarl.policy.prompts import render, selector_messages

    processor = AutoProcessor.from_pretrained(tiny_selector_dir)
    question = "What colour was the large circle that appeared briefly?"
    text = render(processor, selector_messages(question, 16, 4, index_text="before"))
    ids = processor.tokenizer(text, add_special_tokens=False)["input_ids"]
    special = set(processor.tokenizer.convert_tokens_to_ids(list(QWEN_SPECIAL_TOKENS)))
    plain = text
    for s in QWEN_SPECIAL_TOKENS:
        plain = plain.replace(s, "")
    n_text = sum(i not in special for i in ids)
    # About 3.4x today (204 tokens for 691 bytes); a byte per token would be about 1x.
    assert len(plain.encode("utf-8")) >= 2.5 * n_text
    assert processor.tokenizer.decode(ids) == text
