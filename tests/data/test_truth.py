import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from viarl.data.truth import hit, load_truth, read_truth
from viarl.errors import UserError


def test_load_truth(tmp_path):
    assert load_truth(tmp_path) is None
    (tmp_path / "truth.json").write_text(json.dumps({
        "version": 1,
        "videos": {
            "a.mp4": {"num_frames": 100, "fps": 10, "spans": [[10, 20], [50, 51]]},
            "b.mp4": {"num_frames": 30, "fps": 10, "spans": []},
        },
    }))  # fmt: skip
    assert load_truth(tmp_path) == {"a.mp4": [(10, 20), (50, 51)], "b.mp4": []}


@pytest.mark.parametrize(
    "content",
    [
        '{"version": 2, "videos": {}}',
        '{"version": 1, "videos": []}',
        '{"version": 1, "videos": {"a.mp4": {"spans": [[5, 5]]}}}',
        '{"version": 1, "videos": {"a.mp4": {"spans": [[1.5, 3]]}}}',
        '{"version": 1, "videos": {"a.mp4": {}}}',
    ],
)
def test_bad_truth_is_a_user_error(tmp_path, content):
    (tmp_path / "truth.json").write_text(content)
    with pytest.raises(UserError):
        load_truth(tmp_path)


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                    max_leaves=8)


@settings(max_examples=60, deadline=None)
@given(data=JSON)
def test_a_truth_json_of_another_format_is_noted_and_ignored(tmp_path_factory, data):
    """Any JSON that is not an object with `version` and `videos` is another tool's file: never an error."""
    root = tmp_path_factory.mktemp("foreign")
    (root / "truth.json").write_text(json.dumps(data))
    ours = isinstance(data, dict) and "version" in data and "videos" in data
    if not ours:
        assert read_truth(root)[:2] == (None, None) and "not a viarl truth file" in read_truth(root)[2]
        assert load_truth(root) is None


@pytest.mark.parametrize("content", ['{"version": 1, "videos": ', "id,start,end\nv1,3,9\n", "\xff\xfe"])
def test_a_truth_json_that_is_not_json_is_noted_and_ignored(tmp_path, content):
    (tmp_path / "truth.json").write_bytes(content.encode("latin-1"))
    data, path, note = read_truth(tmp_path)
    assert data is None and path is None and "is not a viarl truth file (not JSON" in note
    assert load_truth(tmp_path) is None


def test_hit_examples():
    assert hit([0, 15], [(10, 20)])
    assert not hit([9, 20], [(10, 20)])  # end is exclusive
    assert hit([50], [(10, 20), (50, 51)])
    assert not hit([], [(0, 100)]) and not hit([5], [])


@settings(max_examples=100, deadline=None)
@given(
    frames=st.lists(st.integers(0, 200), max_size=10),
    spans=st.lists(st.tuples(st.integers(0, 200), st.integers(1, 20)), max_size=4),
)
def test_hit_matches_set_membership(frames, spans):
    spans = [(s, s + n) for s, n in spans]
    covered = {f for s, e in spans for f in range(s, e)}
    assert hit(frames, spans) == bool(covered & set(frames))


def test_needle_dataset_loads_with_its_truth(needle_test_dir):
    from viarl.data import load_dataset
    from viarl.video.candidates import load_candidates

    loaded = load_dataset("mlvu", needle_test_dir, tasks=["needle"])
    truth = load_truth(needle_test_dir)
    assert loaded.samples and loaded.skips.total == 0 and truth
    for sample in loaded.samples:
        spans = truth[sample.video.name]
        assert spans
        # taking every frame as a candidate must hit the needle; the answer letter is valid
        c = load_candidates(sample.video, 10_000, selector_size=56, answer_size=56)
        assert hit(c.frame_indices, spans)
        assert sample.answer in "ABCD"[: len(sample.options)]
