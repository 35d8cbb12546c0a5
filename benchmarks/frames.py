"""Benchmark: candidate frames of a long video, batched vs frame-by-frame decoding, and cache.

Makes (once) a 3-minute 640x360 30 fps synthetic H.264 video (5400 frames, key frame every 250
frames, x264's default), then for T=128 candidates and both views (selector 112 px with drawn
indices, answer 896 px):

1. batched decoding (`decord.get_batch`, what viarl does) vs frame-by-frame decoding (one
   seek + read per index), each followed by the same view building;
2. a reload from viarl's FrameCache vs batched decoding.

Each timing is the best of --repeats runs. The last line is the cache-vs-decode ratio.

Expect ratio 1 to be near 1x for this video: candidates are 42 frames apart and key frames 250,
so both paths must decode every frame from each key frame on (decord's seek_accurate, like
get_batch, skips forward without re-seeking on one open reader). Batching is no speed-up over a
well-used reader; the cache is what removes decoding.

    python benchmarks/frames.py [--seconds 180] [--candidates 128] [--dir ~/.cache/viarl/bench]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from viarl.video import decode
from viarl.video.cache import FrameCache
from viarl.video.candidates import AnswerView, Candidates, decode_candidates, load_candidates, selector_view
from viarl.video.encode import write_video

WIDTH, HEIGHT, FPS = 640, 360, 30


def synthetic_frames(n: int):
    """n frames of moving shapes over a drifting gradient (cheap to make, not trivial to code)."""
    xs = np.linspace(0, 255, WIDTH, dtype=np.float32)[None, :]
    ys = np.linspace(0, 255, HEIGHT, dtype=np.float32)[:, None]
    for i in range(n):
        frame = np.empty((HEIGHT, WIDTH, 3), dtype=np.uint8)
        frame[..., 0] = (xs + i) % 256
        frame[..., 1] = (ys + 2 * i) % 256
        frame[..., 2] = (i * 7) % 256
        x = (i * 5) % (WIDTH - 80)
        y = (i * 3) % (HEIGHT - 80)
        frame[y : y + 80, x : x + 80] = 255
        yield frame


def long_video(folder: Path, seconds: int) -> Path:
    """The benchmark video, encoded on first use and reused afterwards."""
    path = folder / f"synthetic_{WIDTH}x{HEIGHT}_{FPS}fps_{seconds}s.mp4"
    if not path.exists():
        print(f"encoding {seconds * FPS} frames to {path} (once)...", flush=True)
        write_video(path, synthetic_frames(seconds * FPS), fps=FPS)
    return path


def frame_by_frame(path: Path, T: int, selector_size: int, answer_size: int) -> Candidates:
    """The baseline: same candidates and views, but each frame seeked and read on its own."""
    decode._checked.clear()
    info = decode.probe(path)
    indices = decode.candidate_indices(info.num_frames, T)
    width = height = -1
    if max(info.width, info.height) > answer_size:
        width, height = decode.fit_size(info.width, info.height, answer_size)
    reader = decode.open_reader(path, width=width, height=height)
    frames = []
    for i in indices:
        reader.seek_accurate(int(i))
        frames.append(reader.next().asnumpy())
    answer = np.stack(frames)  # [T, H, W, 3]
    view = AnswerView(path, indices, answer_size, held=dict(enumerate(answer)))
    return Candidates(indices, info, selector_view(answer, selector_size), view)


def batched(path: Path, T: int, selector_size: int, answer_size: int) -> Candidates:
    """viarl's decoding path (get_batch), with a cold probe like the baseline."""
    decode._checked.clear()
    return decode_candidates(path, T, selector_size, answer_size)


def best_time(fn, repeats: int):
    """(best seconds, last result); the PIL views are materialised inside the timing."""
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        _ = result.selector, result.all_answer_images()  # every answer frame, as before answer views were lazy
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=180)
    parser.add_argument("--candidates", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=Path.home() / ".cache/viarl/bench")
    args = parser.parse_args()
    T, sel, ans = args.candidates, 112, 896

    path = long_video(args.dir, args.seconds)
    info = decode.probe(path)
    print(f"video: {info.num_frames} frames, {info.fps:.1f} fps, {info.duration:.1f} s, "
          f"{info.width}x{info.height}; T={T}, views {sel}px + {ans}px")  # fmt: skip

    t_batch, ref = best_time(lambda: batched(path, T, sel, ans), args.repeats)
    t_seek, base = best_time(lambda: frame_by_frame(path, T, sel, ans), args.repeats)
    assert np.array_equal(ref.frame_indices, base.frame_indices)
    everything = range(ref.count)
    same = float(np.mean(ref.answer_view.frames(everything) == base.answer_view.frames(everything)))
    print(f"batched get_batch:  {t_batch:.3f} s")
    print(f"frame-by-frame:     {t_seek:.3f} s   (identical pixels: {same:.1%})")
    print(f"batched vs frame-by-frame: {t_seek / t_batch:.1f}x faster")

    with tempfile.TemporaryDirectory() as tmp:
        cache = FrameCache(tmp)
        load_candidates(path, T, sel, ans, cache=cache)  # fill
        reload = lambda: load_candidates(path, T, sel, ans, cache=cache)  # noqa: E731
        t_cache, hit = best_time(reload, args.repeats)
        assert np.array_equal(hit.answer_view.frames(everything), ref.answer_view.frames(everything))
        mib = hit.nbytes / 2**20
        print(f"cached reload:      {t_cache:.3f} s   ({mib:.0f} MiB per entry)")
    print(f"cached reload vs decoding: {t_batch / t_cache:.1f}x faster")


if __name__ == "__main__":
    main()
