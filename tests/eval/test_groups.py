"""Hit rate and accuracy grouped by the true answer's text and by the truth's candidate slot."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from viarl.eval.groups import answer_text, by_answer, by_slot, truth_slot


def _row(answer, options, correct, hit, slot):
    return {"answer": answer, "options": options, "correct": correct, "hit": hit, "truth_slot": slot}


def test_groups_by_answer_text_and_slot():
    opts1, opts2 = ["red", "Blue", "green", "cyan"], ["blue", "red", "cyan", "green"]
    rows = [_row("B", opts1, True, True, 0), _row("A", opts2, False, False, 0),
            _row("A", opts1, True, True, 3), _row("B", opts2, True, None, None)]
    groups = by_answer(rows)
    # "Blue" (B of opts1) and "blue" (A of opts2) are one answer, whatever its letter
    assert set(groups) == {"blue", "red"}
    assert groups["blue"]["n"] == 2 and groups["blue"]["accuracy"] == 0.5 and groups["blue"]["hit_rate"] == 0.5
    assert groups["blue"]["accuracy_on_hits"] == 1.0 and groups["blue"]["accuracy_on_misses"] == 0.0
    assert groups["red"] == {"n": 2, "accuracy": 1.0, "hit_rate": 1.0, "accuracy_on_hits": 1.0,
                             "accuracy_on_misses": None}
    slots = by_slot(rows)
    assert set(slots) == {"0", "3"} and slots["0"]["n"] == 2 and slots["0"]["hit_rate"] == 0.5


def test_an_answer_letter_outside_the_options_is_left_out():
    assert answer_text({"answer": "E", "options": ["a", "b"]}) is None
    assert by_answer([_row("E", ["a", "b"], False, None, None)]) == {}


@given(st.lists(st.integers(0, 300), min_size=1, max_size=16, unique=True).map(sorted),
       st.lists(st.tuples(st.integers(0, 300), st.integers(1, 40)), max_size=3))
def test_truth_slot_is_the_first_candidate_inside_a_span(frames, spans):
    spans = [(lo, lo + n) for lo, n in spans]
    slot = truth_slot(frames, spans)
    inside = [i for i, f in enumerate(frames) if any(lo <= f < hi for lo, hi in spans)]
    assert slot == (inside[0] if inside else None)
