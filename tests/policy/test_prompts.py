"""The selector and answer prompts: one copy, the true candidate count, the paper's format."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from viarl.policy.prompts import (
    answer_messages, format_options, frame_marks, render, selector_messages, selector_target,
    think_keywords,
)


def _text(messages):
    return " ".join(c.get("text", "<img>") for m in messages for c in m["content"])


@given(count=st.integers(1, 64), select=st.integers(1, 16),
       index_text=st.sampled_from(["before", "after", "none"]))
@settings(max_examples=60, deadline=None)
def test_selector_prompt_states_true_count(count, select, index_text):
    msgs = selector_messages("What colour was the square?", count, select, index_text)
    system = msgs[0]["content"][0]["text"]
    assert f"{count} frames" in system and f"from 0 to {count - 1}" in system
    assert f"exactly {min(select, count)} distinct" in system
    user = msgs[1]["content"]
    assert sum(c["type"] == "image" for c in user) == count
    mode = index_text
    texts = [c["text"] for c in user if c["type"] == "text"][:-1]
    expected = {"before": [f"Frame {i}:" for i in range(count)],
                "after": [f"(frame {i})" for i in range(count)], "none": []}[mode]
    assert texts == expected
    if mode != "none":  # each label sits right before (or right after) its own frame
        step = 1 if mode == "before" else -1
        for j, c in enumerate(user[:-1]):
            if c["type"] == "text":
                assert user[j + step]["type"] == "image"
    assert user[-1]["text"] == "Question: What colour was the square?"


@given(count=st.integers(1, 32), index_text=st.sampled_from(["before", "after", "none"]),
       question=st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40))
@settings(max_examples=60, deadline=None)
def test_question_before_the_frames_moves_only_the_question(count, index_text, question):
    after = selector_messages(question, count, 2, index_text)
    before = selector_messages(question, count, 2, index_text, question_position="before")
    assert before[0] == after[0]  # the same system message
    assert before[1]["content"][0] == after[1]["content"][-1] == {"type": "text", "text": f"Question: {question}"}
    assert before[1]["content"][1:] == after[1]["content"][:-1]


def test_question_before_the_frames_keeps_their_distance_to_the_answer(selector):
    """With the question first, every token from the first frame on is the same whatever the
    question says: its length cannot move the frames relative to where the answer starts."""
    _, proc = selector
    ids = [proc.tokenizer(render(proc, selector_messages(q, 4, 2, "before", question_position=pos)))["input_ids"]
           for pos in ("before", "after") for q in ("Colour?", "Somewhere in this long clip a big square flashes. Which colour?")]
    first_image = [i.index(proc.tokenizer.convert_tokens_to_ids("<|vision_start|>")) for i in ids]
    tail = [i[f:] for i, f in zip(ids, first_image)]
    assert tail[0] == tail[1]  # question before: identical from the first frame to the end
    assert tail[2] != tail[3] and len(tail[2]) != len(tail[3])  # question after: the frames' distance moves


def test_an_unknown_question_position_is_refused():
    import pytest
    with pytest.raises(ValueError, match="question_position"):
        selector_messages("Q?", 2, 1, "before", question_position="middle")


def test_answer_prompt_letters_follow_candidate_order():
    msgs = answer_messages("Which colour?", ["red", "green", "blue"], 2)
    content = msgs[0]["content"]
    assert [c["type"] for c in content] == ["image", "image", "text"]
    assert "A. red\nB. green\nC. blue" in content[-1]["text"]
    assert content[-1]["text"].endswith("Answer with the option's letter from the given choices directly.")
    assert format_options(["x"]) == "A. x"


def test_prompts_render_through_the_chat_template(selector):
    _, proc = selector
    text = render(proc, selector_messages("Q?", 3, 2, "before"))
    assert text.count("<|image_pad|>") == 3 and text.rstrip().endswith("<|im_start|>assistant")


def test_selector_target_is_well_formed():
    t = selector_target("What colour was the large triangle that appeared briefly?", [1, 5, 9], 2)
    assert t == "<think>colour, large</think><index>1, 5, 9</index>"
    assert think_keywords("the of and") == "the question"


@given(count=st.integers(1, 64), data=st.data())
@settings(max_examples=60, deadline=None)
def test_frame_marks_judge_every_frame_in_order(count, data):
    relevant = data.draw(st.integers(0, count - 1))
    marks = frame_marks(count, relevant).split(",")
    assert [int(m[:-1]) for m in marks] == list(range(count))
    assert [i for i, m in enumerate(marks) if m.endswith("y")] == [relevant]
    assert all(m[-1] in "yn" for m in marks)


def test_selector_target_takes_given_reasoning():
    t = selector_target("Which frame?", [2, 0], think=frame_marks(3, 2))
    assert t == "<think>0n,1n,2y</think><index>2, 0</index>"
