"""The answer model is asked once per distinct (sample, frame set)."""

from __future__ import annotations

from viarl.models.loading import load_vlm
from viarl.policy.answerer import Answerer, AnswerRequest


def test_memo_counts_calls_and_savings(tiny_answer_dir, frames):
    model, proc = load_vlm(str(tiny_answer_dir))
    a = Answerer(model, proc, max_new_tokens=3, batch_size=2)
    opts = ("red", "green", "blue", "yellow")
    reqs = [AnswerRequest(("q1", (0, 1)), frames[:2], "Which colour?", opts),
            AnswerRequest(("q1", (0, 1)), frames[:2], "Which colour?", opts),
            AnswerRequest(("q1", (2, 3)), frames[2:4], "Which colour?", opts),
            AnswerRequest(("q2", (0, 1)), frames[:2], "Other?", opts)]
    out = a.answer(reqs)
    assert len(out) == 4 and out[0] == out[1]
    assert (a.calls, a.saved) == (3, 1)
    again = a.answer(reqs[:1])
    assert again == out[:1] and (a.calls, a.saved) == (3, 2)
    a.reset()
    assert a.answer(reqs[:1]) == out[:1] and a.calls == 4  # greedy: the same answer after a reset


def test_answer_tokens_count_the_generated_tokens(tiny_answer_dir, frames):
    model, proc = load_vlm(str(tiny_answer_dir))
    a = Answerer(model, proc, max_new_tokens=3, batch_size=2)
    opts = ("red", "green", "blue", "yellow")
    reqs = [AnswerRequest(("q1", (0, 1)), frames[:2], "Which colour?", opts),
            AnswerRequest(("q2", (2, 3)), frames[2:4], "Other?", opts)]
    out = a.answer_with_tokens(reqs)
    assert [text for text, _ in out] == a.answer(reqs)  # the second call comes from the memo
    for text, n in out:
        assert 0 <= n <= 3
        assert n == len(proc.tokenizer(text, add_special_tokens=False)["input_ids"]) or n == 3
