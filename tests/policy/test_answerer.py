"""The answer model is asked once per distinct (video, question, frame set)."""

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


def test_memo_keys_name_what_the_model_sees(needle_train_dir, needle_test_dir, tmp_path):
    """Sample ids repeat across splits and candidate positions depend on the pre-filter: neither
    may make the memo answer one video's question with another video's frames."""
    from viarl.data.loaders import load_dataset
    from viarl.video.candidates import load_candidates
    from viarl.video.prefilter import Prefilter, load_prefiltered

    train = load_dataset("mlvu", needle_train_dir).samples[0]
    test = load_dataset("mlvu", needle_test_dir).samples[0]
    assert train.id == test.id and train.video != test.video  # the collision this guards against
    plain = load_candidates(train.video, 8, 56, 56)
    keys = {AnswerRequest.for_choice(s, load_candidates(s.video, 8, 56, 56), (1, 5)).key for s in (train, test)}
    assert len(keys) == 2
    brightest = Prefilter(24, lambda q, ims: [float(im.convert("L").getextrema()[1]) for im in ims], "max-luma")
    filtered = load_prefiltered(train.video, train.question, 8, 56, 56, brightest)
    a, b = (AnswerRequest.for_choice(train, c, (1, 5)) for c in (plain, filtered))
    assert plain.frame_indices[[1, 5]].tolist() != filtered.frame_indices[[1, 5]].tolist()
    assert a.key != b.key
    assert a.key[-1] == tuple(int(f) for f in plain.frame_indices[[1, 5]])
    same = AnswerRequest.for_choice(train, load_candidates(train.video, 8, 56, 56), (1, 5))
    assert same.key == a.key and len(same.images) == 2
