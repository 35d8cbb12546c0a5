"""Benchmark: host memory while training streams many distinct videos at the paper's frame settings.

Makes (once) --videos distinct synthetic 960x540 H.264 videos of 160 frames, then streams them
through the path an RL step takes (`RunContext.candidates`: the bounded `CandidateMemo` over
`load_candidates` with a disk `FrameCache`), T=128 candidates, 112 px selector view, answer
frames at 896 px (896x504 for 16:9). For each video it builds k=8 answer requests of N=8 picks
(`AnswerRequest.for_choice`, which decodes the answer frames it shows), as one prompt's
rollout does. It samples the process's RSS after every video, from a start taken after one
warm-up video outside the memo (the decoders' one-time set-up is not growth).

Then the same stream through the memo as it was before the survival issue: an unbounded dict,
each video's whole answer view decoded up front (what the old `Candidates` held). That one
grows by ~170 MB per video, so it stops once it has grown by --baseline-stop-gib and its
growth at --videos videos is extrapolated from its slope (it would not fit this machine).

The last line is the bounded run's peak RSS growth against its bound (`frames.memory_mib`).

    python benchmarks/host_memory.py [--videos 200] [--memory-mib 2048] [--dir ~/.cache/viarl/bench]
"""

from __future__ import annotations

import argparse
import gc
import tempfile
from pathlib import Path

import numpy as np
import psutil

from viarl.console import progress
from viarl.data.sample import Sample
from viarl.policy.answerer import AnswerRequest
from viarl.video.cache import FrameCache
from viarl.video.candidates import load_candidates
from viarl.video.encode import write_video
from viarl.video.memo import MIB, CandidateMemo

T, N, K, SELECTOR, ANSWER = 128, 8, 8, 112, 896
FRAMES, WIDTH, HEIGHT = 160, 960, 540


def make_videos(folder: Path, n: int) -> list[Path]:
    """n distinct videos (a moving gradient whose colours depend on the video number)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    with progress() as bar:
        task = bar.add_task("making videos", total=n, info="")
        for i in range(n):
            path = folder / f"v{i:04d}.mp4"
            if not path.exists():
                rng = np.random.default_rng(i)
                colour = rng.integers(0, 255, 3)

                def frames(colour=colour):
                    for t in range(FRAMES):
                        base = ((x + 4 * t) % 256)[..., None] * 0.5 + colour[None, None, :] * 0.5
                        frame = np.broadcast_to(base, (HEIGHT, WIDTH, 3)).astype(np.uint8)
                        yield frame
                write_video(path, frames(), fps=8)
            out.append(path)
            bar.update(task, advance=1)
    return out


def sample(path: Path) -> Sample:
    return Sample(id=path.stem, video=path, question="What colour is the needle?",
                  options=("red", "green", "blue", "yellow"), answer="A", question_type="needle")


def requests(s: Sample, cands, rng: np.random.Generator) -> list[AnswerRequest]:
    """One prompt's rollout: k completions, each naming N of the T candidates."""
    picks = [np.sort(rng.choice(cands.count, N, replace=False)) for _ in range(K)]
    return [AnswerRequest.for_choice(s, cands, p.tolist()) for p in picks]


def stream(videos: list[Path], memo, cache: FrameCache, eager: bool, stop_bytes: float | None, label: str):
    """RSS growth (bytes) after each video; `eager` decodes every answer frame up front (the old way)."""
    proc, rng = psutil.Process(), np.random.default_rng(0)
    # One warm-up video outside the memo first: the decoders' one-time set-up is not growth.
    warm = load_candidates(videos[0], T, SELECTOR, ANSWER)
    requests(sample(videos[0]), warm, np.random.default_rng(1))
    del warm
    gc.collect()
    start = proc.memory_info().rss
    growth = []
    with progress() as bar:
        task = bar.add_task(label, total=len(videos), info="")
        for path in videos:
            s = sample(path)

            def load(path=path):
                cands = load_candidates(path, T, SELECTOR, ANSWER, cache=cache)
                if eager:
                    cands.answer_view.frames(range(cands.count))
                return cands
            cands = memo.get(str(path), load) if isinstance(memo, CandidateMemo) else memo.setdefault(str(path), load())
            reqs = requests(s, cands, rng)
            del reqs, cands
            growth.append(proc.memory_info().rss - start)
            bar.update(task, advance=1, info=f"+{growth[-1] / MIB:,.0f} MiB")
            if stop_bytes is not None and growth[-1] > stop_bytes:
                break
    return growth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=200)
    parser.add_argument("--memory-mib", type=int, default=2048, help="the memo's bound (frames.memory_mib)")
    parser.add_argument("--baseline-stop-gib", type=float, default=4.0)
    parser.add_argument("--dir", type=Path, default=Path.home() / ".cache/viarl/bench/host_memory")
    args = parser.parse_args()
    videos = make_videos(args.dir, args.videos)
    print(f"{len(videos)} distinct videos, {FRAMES} frames {WIDTH}x{HEIGHT}; T={T}, selector {SELECTOR} px, "
          f"answer {ANSWER} px; k={K} requests of N={N} frames per video")
    with tempfile.TemporaryDirectory() as tmp:
        bounded = stream(videos, CandidateMemo(args.memory_mib * MIB), FrameCache(Path(tmp) / "a"), eager=False,
                         stop_bytes=None, label="bounded memo")
    bound = args.memory_mib * MIB
    peak = max(bounded)
    print(f"bounded memo: peak RSS growth {peak / MIB:,.0f} MiB over {len(bounded)} videos "
          f"(bound {args.memory_mib:,} MiB); growth after the last video {bounded[-1] / MIB:,.0f} MiB")
    gc.collect()
    with tempfile.TemporaryDirectory() as tmp:
        old = stream(videos, {}, FrameCache(Path(tmp) / "b"), eager=True, stop_bytes=args.baseline_stop_gib * 2**30,
                     label="before: unbounded, whole answer views")
    slope = old[-1] / len(old)
    print(f"before (unbounded dict, whole answer views): +{old[-1] / MIB:,.0f} MiB after {len(old)} videos, "
          f"{slope / MIB:,.0f} MiB per video: about {slope * len(videos) / 2**30:,.1f} GiB at {len(videos)} videos")
    print(f"peak RSS growth {peak / MIB:,.0f} MiB vs bound {args.memory_mib:,} MiB: "
          f"{peak / bound:.2f}x the bound ({'within' if peak <= bound else 'OVER'}); "
          f"before: {slope * len(videos) / bound:.1f}x the bound at {len(videos)} videos")


if __name__ == "__main__":
    main()
