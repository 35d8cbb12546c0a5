"""Synthetic needle-in-a-haystack video QA in MLVU's layout, with ground-truth spans kept apart.

    DIR/json/1_needle.json              MLVU annotation (video, duration, question, candidates,
                                        answer, question_type="findNeedle")
    DIR/video/1_needle/<name>.mp4       H.264, yuv420p
    DIR/truth.json                      {"version": 1, "videos": {name: {num_frames, fps, spans}}}

The truth (which frames hold the needle) is never in the annotation: training must not see it.
Every video has its own random stream derived from (seed, split, video number), so the train and
test splits of one seed are disjoint, and `videos=4` gives the first 4 videos of `videos=8`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from viarl.atomic import write_json
from viarl.console import progress
from viarl.errors import UserError
from viarl.synth.mix import NeedleMix
from viarl.synth.scene import NeedlePlan, Renderer, make_plan
from viarl.video.decode import candidate_indices, slot_in_spans
from viarl.video.encode import write_video

# Each split has its own random stream; new splits are appended so old ones keep their videos.
SPLITS = ("train", "test", "val", "shifted")
ANNOTATION = Path("json") / "1_needle.json"
VIDEO_DIR = Path("video") / "1_needle"
TRUTH = "truth.json"
MIN_SIDE, MAX_SIDE = 32, 4096
CRF = 18  # high quality: colours and edges must survive, files stay tiny anyway


def _fail(what: str, where: str, fix: str) -> UserError:
    return UserError(what, where=where, fix=fix)


def as_range(value) -> tuple:
    """(lo, hi) from a number or a [lo, hi] pair (a fixed number is the range (n, n))."""
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return tuple(value)
    return (value, value)


def _check_args(out_dir, videos, frames, fps, seed, difficulty, split, size) -> tuple[Path, int, int]:
    f_lo, f_hi = as_range(frames)
    fps_lo, fps_hi = as_range(fps)
    if not (isinstance(f_lo, int) and isinstance(f_hi, int) and not isinstance(f_lo, bool)) or f_hi < f_lo:
        raise _fail(f"frames must be a whole number or a range lo-hi with lo <= hi, got {frames!r}", "frames",
                    "pass e.g. --frames 48 or --frames 48-240")
    if isinstance(fps_lo, (int, float)) and isinstance(fps_hi, (int, float)) and fps_hi < fps_lo:
        raise _fail(f"fps range {fps!r} has lo > hi", "fps", "pass e.g. --fps 8-24")
    for v in (fps_lo, fps_hi):
        _check_fps(v)
    frames = f_lo
    for name, value, least in (("videos", videos, 1), ("frames", frames, 8)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise _fail(f"{name} must be a positive integer, got {value!r}", name,
                        f"pass --{name} {least} or more")
    if frames < 8:
        raise _fail(f"frames must be at least 8 (needle, distractors and background), got {frames}",
                    "frames", "pass --frames 8 or more")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise _fail(f"seed must be a non-negative integer, got {seed!r}", "seed", "pass --seed 0 or more")
    if not isinstance(difficulty, (int, float)) or not np.isfinite(difficulty) or not 0.1 <= difficulty <= 10:
        raise _fail(f"difficulty must be a number in [0.1, 10], got {difficulty!r}", "difficulty",
                    "pass e.g. --difficulty 1 (higher: shorter needle, more clutter)")
    if split not in SPLITS:
        raise _fail(f"unknown split {split!r}", "split", f"use one of: {', '.join(SPLITS)}")
    width, height = parse_size(size)
    out = Path(out_dir)
    for parent in [out, *out.parents]:
        if parent.exists():
            if not parent.is_dir():
                raise _fail(f"{parent} exists and is not a folder", str(out),
                            "choose an output folder that is not under a regular file")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise _fail(f"cannot write into {parent}", str(out), "choose a folder you can write to")
            break
    return out, width, height


def _check_fps(fps) -> None:
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not np.isfinite(fps) or fps <= 0 or fps > 1000:
        raise _fail(f"fps must be a number in (0, 1000], got {fps!r}", "fps", "pass e.g. --fps 24")


def parse_size(size) -> tuple[int, int]:
    """Accept (W, H) or "WxH"; both sides even (yuv420p) and within [32, 4096]."""
    where, fix = "size", "pass --size WxH with even sides between 32 and 4096, e.g. 128x128"
    if isinstance(size, str):
        parts = size.lower().split("x")
        if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
            raise _fail(f"size {size!r} is not WxH", where, fix)
        size = (int(parts[0]), int(parts[1]))
    try:
        width, height = (int(v) for v in size)
        if any(isinstance(v, bool) or int(v) != v for v in size):
            raise ValueError
    except (TypeError, ValueError):
        raise _fail(f"size {size!r} is not a (width, height) pair", where, fix) from None
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        raise _fail(f"size {width}x{height} is out of range", where, fix)
    if width % 2 or height % 2:
        raise _fail(f"size {width}x{height} has an odd side; H.264 yuv420p needs even sides", where, fix)
    return width, height


def video_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The random stream of one video: independent per (seed, split, index)."""
    return np.random.default_rng(np.random.SeedSequence([seed, SPLITS.index(split), index, 0x6E656564]))


def question_for(plan: NeedlePlan) -> str:
    """The question asked about a plan's needle (its colour), in the wording the plan drew."""
    return plan.question or f"What colour was the large {plan.shape} that appeared briefly?"


def balanced_slots(seed: int, split: str, videos: int, slots: int) -> list[int]:
    """The candidate slot each video's needle covers: every block of `slots` videos holds each slot
    once, in a shuffled order, so the slot histogram is flat and a content-blind pick of N slots
    hits about N / slots of the time.
    """
    order: list[int] = []
    block = 0
    while len(order) < videos:
        rng = np.random.default_rng(np.random.SeedSequence([seed, SPLITS.index(split), block, 0x736C6F74]))
        order.extend(int(s) for s in rng.permutation(slots))
        block += 1
    return order[:videos]


def needle_slot(span: tuple[int, int], num_frames: int, slots: int) -> int | None:
    """The first candidate slot (of `slots` uniform candidates) inside the needle's span, or None."""
    return slot_in_spans([span], num_frames, slots)


def make_needle_dataset(out_dir, *, videos: int = 8, frames=240, fps=24, seed: int = 0,
                        difficulty: float = 1.0, split: str = "train", size=(128, 128),
                        fixed_options: bool = False, balance: int | None = None,
                        mix: NeedleMix | None = None) -> Path:
    """Write a synthetic needle QA dataset (MLVU layout) plus `truth.json`; returns `out_dir`.

    Each video shows a moving background with clutter; a LARGE shape in the answer colour appears
    in one short contiguous span (about 8 % of the frames / difficulty); small shapes appear at
    other times (`scene` says which). The question asks the large shape's colour, with 4 colour
    names as options, shuffled per question (the same four in the same order with
    `fixed_options`). `frames` and `fps` are a number or a (lo, hi) range each video draws from
    (frames: whole numbers; fps: whole numbers when both ends are). `mix` chooses what the look
    varies over (`mix.NeedleMix`). With `balance=T` the needle's span covers candidate slot
    `balanced_slots(...)[i]` of T uniform candidates of its video, so every slot holds the
    needle equally often (no position shortcut). Same arguments give identical files.
    """
    out, width, height = _check_args(out_dir, videos, frames, fps, seed, difficulty, split, size)
    mix = mix or NeedleMix()
    problems = mix.problems()
    if problems:
        name, what, fix = problems[0]
        raise _fail(what, name, fix)
    f_lo, f_hi = as_range(frames)
    fps_lo, fps_hi = as_range(fps)
    if balance is not None and (isinstance(balance, bool) or not isinstance(balance, int)
                                or not 1 <= balance <= f_lo):
        raise _fail(f"balance must be a number of candidate slots in [1, frames={f_lo}], got {balance!r}",
                    "balance", "pass --balance T with T the selector's candidate count (e.g. 8)")
    slots = balanced_slots(seed, split, videos, balance) if balance is not None else None
    video_dir = out / VIDEO_DIR
    try:
        video_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise _fail(f"cannot create {video_dir}: {e.strerror}", str(out), "choose a folder you can write to") from None

    entries, truth = [], {}
    whole_fps = all(float(v).is_integer() for v in (fps_lo, fps_hi))
    with progress() as bar:
        task = bar.add_task(f"needle {split}", total=videos, info="")
        for i in range(videos):
            rng = video_rng(seed, split, i)
            n_frames, rate = f_lo, fps_lo
            if (f_lo, fps_lo) != (f_hi, fps_hi):  # a fixed length and rate draw nothing: old sets stay
                n_frames = int(rng.integers(f_lo, f_hi + 1))
                rate = int(rng.integers(int(fps_lo), int(fps_hi) + 1)) if whole_fps else float(rng.uniform(fps_lo, fps_hi))
            cover = None if slots is None else int(candidate_indices(n_frames, balance)[slots[i]])
            plan = make_plan(rng, width=width, height=height, num_frames=n_frames,
                             difficulty=float(difficulty), fixed_options=fixed_options, cover=cover, mix=mix)
            name = f"needle_{split}_s{seed}_{i:04d}.mp4"
            renderer = Renderer(plan)
            write_video(video_dir / name, (renderer.frame(t) for t in range(plan.num_frames)), rate, crf=CRF)
            entries.append({
                "video": name,
                "duration": round(n_frames / float(rate), 3),
                "question": question_for(plan),
                "candidates": list(plan.candidates),
                "answer": plan.answer,
                "question_type": "findNeedle",
            })
            rate_out = int(rate) if float(rate).is_integer() else float(rate)
            truth[name] = {"num_frames": n_frames, "fps": rate_out, "spans": [list(plan.span)]}
            bar.update(task, advance=1, info=name)
    write_json(out / ANNOTATION, entries)
    meta = {"version": 1, "videos": truth}
    if balance is not None:
        meta["balanced_slots"] = balance
    write_json(out / TRUTH, meta)
    return out
