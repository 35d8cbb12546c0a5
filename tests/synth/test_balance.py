"""Balanced needle positions: every candidate slot holds the needle equally often, in both splits."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from viarl.data.truth import slot_histogram
from viarl.errors import UserError
from viarl.synth.needle import balanced_slots, make_needle_dataset, needle_slot


@given(seed=st.integers(0, 1000), split=st.sampled_from(["train", "test"]),
       videos=st.integers(1, 60), slots=st.integers(1, 16))
@settings(max_examples=60, deadline=None)
def test_every_block_of_slots_videos_holds_each_slot_once(seed, split, videos, slots):
    order = balanced_slots(seed, split, videos, slots)
    assert len(order) == videos
    counts = Counter(order)
    full = videos // slots
    assert all(full <= counts[s] <= full + 1 for s in range(slots))
    for b in range(full):
        assert sorted(order[b * slots:(b + 1) * slots]) == list(range(slots))


def test_splits_are_balanced_but_differently_ordered():
    assert balanced_slots(0, "train", 16, 8) != balanced_slots(0, "test", 16, 8)
    assert balanced_slots(0, "test", 16, 8) == balanced_slots(0, "test", 16, 8)


@pytest.mark.slow
@pytest.mark.parametrize("split", ["train", "test"])
def test_written_dataset_has_a_flat_slot_histogram(tmp_path, split):
    root = make_needle_dataset(tmp_path / split, videos=16, frames=48, fps=24, seed=3, difficulty=0.6,
                               split=split, size=(64, 64), fixed_options=True, balance=8)
    assert slot_histogram(root, 8) == [2] * 8
    truth = json.loads((root / "truth.json").read_text())
    assert truth["balanced_slots"] == 8
    slots = [needle_slot(tuple(v["spans"][0]), 48, 8) for v in truth["videos"].values()]
    assert Counter(slots) == {s: 2 for s in range(8)}


def test_histogram_counts_videos_whose_span_holds_a_candidate(needle_test_dir, tmp_path):
    # The fixture set (4 videos, no balance) cannot cover 8 slots evenly; a span that falls
    # between two candidates counts nowhere.
    counts = slot_histogram(needle_test_dir, 8)
    assert len(counts) == 8 and 1 <= sum(counts) <= 4 and counts.count(0) >= 4
    assert slot_histogram(tmp_path, 8) is None  # no truth.json


@pytest.mark.parametrize("bad", [0, 97, True, 2.5])
def test_bad_balance_is_a_user_error(tmp_path, bad):
    with pytest.raises(UserError, match="balance"):
        make_needle_dataset(tmp_path / "x", videos=1, frames=96, balance=bad)


def test_a_run_refuses_an_unbalanced_synthetic_set(needle_test_dir):
    from pathlib import Path

    from viarl.train.context import check_balance

    check_balance(Path(needle_test_dir), None)  # balance not asked: fine
    with pytest.raises(UserError, match="without the needle spread over 8") as e:
        check_balance(Path(needle_test_dir), 8)
    assert "delete" in e.value.fix and e.value.where == "data.synthetic.balance_positions"
