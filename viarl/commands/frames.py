"""`viarl frames`: write a video's candidate frames, as the selector sees them, to PNG files.

One PNG per candidate (`frame_<position>.png`, index drawn) plus `contact_sheet.png`, labelled
with each candidate's position and source frame number. Use it to check what the selector
gets: that the whole video is covered and the indices are legible.
"""

from __future__ import annotations

import argparse

from viarl.numbers import MAX_FRAMES, MAX_SIDE, int_in


def register(subparsers) -> None:
    """Add the `frames` subcommand."""
    p = subparsers.add_parser(
        "frames",
        help="write a video's candidate frames (selector view) and a contact sheet as PNGs",
        description=(
            "Sample T candidate frames uniformly over VIDEO, draw each one's index as the "
            "selector sees it, and write one PNG per frame plus contact_sheet.png to DIR."
        ),
    )
    p.add_argument("video", metavar="VIDEO", help="the video file")
    p.add_argument(
        "--candidates", "-T", type=int_in(None, MAX_FRAMES), required=True, metavar="T",
        help="number of candidate frames (a shorter video gives all of its frames)",
    )  # fmt: skip
    p.add_argument(
        "--size", type=int_in(1, MAX_SIDE), default=112, metavar="S",
        help="long side of the selector view in pixels (default: 112)",
    )  # fmt: skip
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Decode, draw, write PNGs; returns 0."""
    import io
    from pathlib import Path

    from viarl import atomic
    from viarl.atomic import claim_folder
    from viarl.config.preflight import require_output_folder
    from viarl.console import console, progress, shown
    from viarl.video.candidates import load_candidates
    from viarl.video.sheet import contact_sheet

    require_output_folder(args.out, "--out")
    claim_folder(args.out, "--out", create=False)
    # The answer view is not written; decode no larger than needed for the selector view.
    cands = load_candidates(args.video, args.candidates, args.size, answer_size=max(args.size, 16))
    out = claim_folder(args.out, "--out")

    def save(image, path: Path) -> None:
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        atomic.write_bytes(path, buf.getvalue())

    width = len(str(max(cands.count - 1, 0)))
    with progress(transient=True) as bar:
        task = bar.add_task("writing frames", total=cands.count, info="")
        for i, image in enumerate(cands.selector):
            save(image, out / f"frame_{i:0{width}d}.png")
            bar.advance(task)
    labels = [f"{i}: f{int(f)}" for i, f in enumerate(cands.frame_indices)]
    info = cands.info
    title = (
        f"{Path(args.video).name}: {cands.count} of {info.num_frames} frames, "
        f"{info.fps:.2f} fps, {info.duration:.1f} s"
    )
    save(contact_sheet(cands.selector, labels=labels, title=title), out / "contact_sheet.png")
    console.print(f"wrote {cands.count} frames and contact_sheet.png to {shown(out)}")
    if cands.count < args.candidates:
        asked = args.candidates
        console.print(f"[yellow]the video has only {cands.count} frames (asked for {asked})[/]")
    return 0
