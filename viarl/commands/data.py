"""`viarl data`: datasets; `needle` writes a synthetic needle QA set, `check` validates annotations."""

from __future__ import annotations

import argparse
import math

from viarl.synth.mix import BACKGROUNDS, COLOURS, SHAPES, WORDINGS

from viarl.numbers import MAX_FPS, MAX_FRAMES, MAX_VIDEOS, finite_float, int_in, seed

FORMATS = ("mlvu", "videomme", "lvbench", "jsonl", "paper")


def register(subparsers) -> None:
    """Add the `data` subcommand with `needle` and `check`."""
    p = subparsers.add_parser(
        "data",
        help="datasets: make a synthetic needle set, check an annotation file",
        description="Dataset utilities.",
    )
    sub = p.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    p.set_defaults(func=lambda args: _no_subcommand(p))

    n = sub.add_parser(
        "needle",
        help="write a synthetic needle-in-a-haystack video QA set (MLVU layout + truth.json)",
        description=(
            "Write DIR/json/1_needle.json, DIR/video/1_needle/*.mp4 (H.264) and DIR/truth.json. "
            "Each video shows a moving cluttered background; a large shape appears briefly in "
            "one colour, small shapes of the same kind in other colours appear at other times; "
            "the question asks the large shape's colour (4 candidates). The needle's frame span "
            "is written only to truth.json. Same arguments give identical files."
        ),
    )
    n.add_argument("dir", metavar="DIR", help="output folder (created; files in it are replaced)")
    n.add_argument("--videos", type=int_in(None, MAX_VIDEOS), default=8, metavar="N", help="number of videos (default: 8)")
    n.add_argument("--frames", default="240", metavar="F|LO-HI",
                   help="frames per video, >= 8, or a range each video draws from, e.g. 48-240 (default: 240)")
    n.add_argument("--fps", default="24", metavar="R|LO-HI",
                   help="frames per second, or a range each video draws from, e.g. 8-24 (default: 24)")
    n.add_argument("--seed", type=seed, default=0, metavar="S", help="random seed, >= 0 (default: 0)")
    n.add_argument("--difficulty", type=finite_float(None, 1000), default=1.0, metavar="D",
                   help="0.1-10; higher: shorter needle span, more clutter (default: 1)")
    n.add_argument("--split", default="train", choices=("train", "test", "val", "shifted"),
                   help="generator stream; every split of one seed has its own videos (default: train)")
    n.add_argument("--size", default="128x128", metavar="WxH",
                   help="frame size, even sides in 32-4096 (default: 128x128)")
    n.add_argument("--fixed-options", action="store_true",
                   help="offer the same four colours in the same order in every question "
                        "(an easier task for tiny CPU models)")
    n.add_argument("--backgrounds", metavar="LIST", help=f"comma-separated background kinds (default: all of {','.join(BACKGROUNDS)})")
    n.add_argument("--shapes", metavar="LIST", help=f"needle shapes (default: all of {','.join(SHAPES)}; "
                   "a circle may be asked about as a disc, a square as a box)")
    n.add_argument("--colours", metavar="LIST", help=f"answer colours, at least 4; options are 4 of them, "
                   f"shuffled per question (default: all of {','.join(COLOURS)})")
    n.add_argument("--needle-size", default="0.3-0.5", metavar="LO-HI",
                   help="needle side as a fraction of the short side (default: 0.3-0.5)")
    n.add_argument("--distractors", metavar="LIST", help="distractor kinds: colour (the question's shape, small, "
                   "in colours that are not options), grey (grey shapes in every frame); 'none' for none "
                   "(default: colour,grey)")
    n.add_argument("--wordings", metavar="LIST", help=f"question wordings, numbers 0-{len(WORDINGS) - 1} "
                   "(default: all): " + " | ".join(f"{i}: {w}" for i, w in enumerate(WORDINGS)))
    n.add_argument("--balance", type=int_in(None, MAX_FRAMES), default=None, metavar="T",
                   help="spread the needle evenly over T uniform candidate slots (no position "
                        "shortcut; use the selector's candidate count)")
    n.set_defaults(func=run_needle)

    c = sub.add_parser(
        "check",
        help="validate an annotation file and report skipped entries",
        description="Load PATH in the given format and report what would be used or skipped, and why.",
    )
    c.add_argument("path", metavar="PATH", help="annotation file or dataset folder")
    c.add_argument("--format", required=True, choices=FORMATS, help="annotation format")
    c.add_argument("--strict", action="store_true", help="fail (exit 2) on the first bad entry")
    c.add_argument("--limit", type=int_in(None, 10**9), default=None, metavar="N", help="check only the first N entries")
    c.add_argument("--candidates", "-T", type=int_in(1, MAX_FRAMES), default=8, metavar="T",
                   help="with a truth.json: show the needle's position over T candidate slots (default: 8)")
    c.set_defaults(func=run_check)


def _no_subcommand(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def run_needle(args: argparse.Namespace) -> int:
    """Write the needle dataset and print a summary; returns 0."""
    from viarl.console import console, shown
    from pathlib import Path

    from viarl.atomic import claim_folder
    from viarl.synth.needle import make_needle_dataset, parse_size

    from viarl.synth.mix import NeedleMix

    mix = NeedleMix(**{k: v for k, v in (
        ("backgrounds", _names(args.backgrounds)), ("shapes", _names(args.shapes)),
        ("colours", _names(args.colours)), ("distractors", _names(args.distractors)),
        ("wordings", _numbers(args.wordings, int, "--wordings")),
        ("needle_size", _span(args.needle_size, float, "--needle-size", 1.0))) if v is not None})
    if Path(args.dir).exists() and Path(args.dir).is_dir():
        claim_folder(args.dir, "DIR")  # a folder of the user's own files is never written into
    out = make_needle_dataset(args.dir, videos=args.videos, frames=_span(args.frames, int, "--frames", MAX_FRAMES),
                              fps=_span(args.fps, float, "--fps", MAX_FPS), seed=args.seed, difficulty=args.difficulty,
                              split=args.split, fixed_options=args.fixed_options, size=parse_size(args.size),
                              balance=args.balance, mix=mix)
    console.print(f"wrote {args.videos} {args.split} needle videos to {shown(out)} "
                  f"(annotation json/1_needle.json, truth in truth.json)")
    return 0


def _names(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    return () if text.strip() == "none" else tuple(t.strip() for t in text.split(",") if t.strip())


def _numbers(text: str | None, kind, flag: str) -> tuple | None:
    from viarl.errors import UserError

    if text is None:
        return None
    try:
        return tuple(kind(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise UserError(f"{flag} {text!r} is not a comma-separated list of numbers", where=flag,
                        fix=f"e.g. {flag} 0,2,3") from None


def _span(text: str, kind, flag: str, limit: float):
    """A number, or LO-HI as a (lo, hi) pair, each finite and at most `limit`; whole numbers stay ints."""
    from viarl.errors import UserError

    try:  # one number first, so "-5" is a (bad) number, not a range
        values = [float(text)]
    except ValueError:
        try:
            values = [float(p) for p in str(text).split("-")]
        except ValueError:
            values = []
    if not all(math.isfinite(v) and v <= limit for v in values):
        raise UserError(f"{flag} {text!r} is not a finite number up to {limit:g}", where=flag,
                        fix=f"e.g. {flag} 24 or {flag} 8-24")
    if len(values) not in (1, 2):
        raise UserError(f"{flag} {text!r} is neither a number nor a range LO-HI", where=flag,
                        fix=f"e.g. {flag} 24 or {flag} 8-24")
    if kind is int and not all(v.is_integer() for v in values):
        raise UserError(f"{flag} {text!r} must be whole numbers", where=flag, fix=f"e.g. {flag} 48-240")
    if kind is int or all(v.is_integer() for v in values):  # 24 fps stays a whole number
        values = [int(v) for v in values]
    return values[0] if len(values) == 1 else tuple(values)


def run_check(args: argparse.Namespace) -> int:
    """Delegate to `viarl.data.check.check_command`."""
    from viarl.data.check import check_command

    return check_command(args)
