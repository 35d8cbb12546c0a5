import os
import threading

import numpy as np

from viarl.video import decode
from viarl.video.cache import FrameCache
from viarl.video.candidates import load_candidates


def _count_opens(monkeypatch) -> list:
    opened = []
    real = decode.open_reader
    monkeypatch.setattr(decode, "open_reader", lambda *a, **k: opened.append(a) or real(*a, **k))
    return opened


def _copy(src, dst):
    dst.write_bytes(src.read_bytes())
    return dst


def test_second_load_never_decodes(tmp_path, coded_video, monkeypatch):
    video = _copy(coded_video, tmp_path / "v.mp4")
    cache = FrameCache(tmp_path / "cache")
    first = load_candidates(video, 12, cache=cache)
    first.answer_view.frames([3, 7])  # decoded once, stored with the entry
    opened = _count_opens(monkeypatch)
    decode._checked.clear()  # not even the per-process probe cache may help
    second = load_candidates(video, 12, cache=cache)
    assert np.array_equal(second.answer_view.frames([7, 3]), first.answer_view.frames([7, 3]))
    assert opened == []
    assert np.array_equal(first.frame_indices, second.frame_indices)
    assert np.array_equal(first.selector_frames, second.selector_frames)
    assert first.info == second.info and second.count == 12
    # Only the answer frames that were used are on disk.
    entry = cache.entry_dir(cache.key(video, 12, 112, 896))
    assert sorted(p.name for p in (entry / "answer").iterdir()) == sorted(
        f"{int(first.frame_indices[i])}.npy" for i in (3, 7))


def test_key_covers_parameters_and_file_version(tmp_path, coded_video, monkeypatch):
    video = _copy(coded_video, tmp_path / "v.mp4")
    cache = FrameCache(tmp_path / "cache")
    load_candidates(video, 12, cache=cache)
    opened = _count_opens(monkeypatch)
    load_candidates(video, 10, cache=cache)  # other T
    load_candidates(video, 12, selector_size=56, cache=cache)  # other selector size
    load_candidates(video, 12, answer_size=32, cache=cache)  # other answer size
    assert len(opened) == 3
    st = video.stat()
    os.utime(video, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # the file changed
    load_candidates(video, 12, cache=cache)
    assert len(opened) == 5  # probed again (new file version) and decoded
    load_candidates(video, 12, cache=cache)
    assert len(opened) == 5


def test_corrupt_entry_is_a_miss_and_is_rewritten(tmp_path, coded_video, monkeypatch):
    video = _copy(coded_video, tmp_path / "v.mp4")
    cache = FrameCache(tmp_path / "cache")
    good = load_candidates(video, 12, cache=cache)
    entry = cache.entry_dir(cache.key(video, 12, 112, 896))
    npy = entry / "selector.npy"
    npy.write_bytes(npy.read_bytes()[: npy.stat().st_size // 2])  # truncated
    assert cache.get(video, 12, 112, 896) is None
    opened = _count_opens(monkeypatch)
    again = load_candidates(video, 12, cache=cache)
    assert len(opened) == 1 and np.array_equal(again.selector_frames, good.selector_frames)
    fixed = cache.get(video, 12, 112, 896)
    assert fixed is not None and np.array_equal(fixed.selector_frames, good.selector_frames)
    (entry / "meta.json").write_text("{not json")
    assert cache.get(video, 12, 112, 896) is None


def test_concurrent_readers_see_whole_entries(tmp_path, coded_video):
    video = _copy(coded_video, tmp_path / "v.mp4")
    cache = FrameCache(tmp_path / "cache")
    ref = load_candidates(video, 8)
    seen, errors = [], []

    def writer():
        for _ in range(15):
            cache.put(video, 8, 112, 896, ref)

    def reader():
        try:
            for _ in range(60):
                got = cache.get(video, 8, 112, 896)
                if got is not None:
                    seen.append(np.array_equal(got.selector_frames, ref.selector_frames)
                                and np.array_equal(got.answer_view.frames([0, 5]), ref.answer_view.frames([0, 5])))
        except Exception as e:  # any exception is a failure of the cache's guarantee
            errors.append(e)

    threads = [threading.Thread(target=f) for f in (writer, writer, reader, reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and all(seen)
    assert cache.get(video, 8, 112, 896) is not None
