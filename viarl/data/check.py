"""`viarl data check`: load a dataset and report what is usable.

The command itself is registered by viarl/commands/data.py; this is its body. Exit code 0 when
at least one sample loads, 2 when none does (or, with --strict, at the first problem).
"""

from __future__ import annotations

import statistics
from pathlib import Path

from viarl.data.collect import Loaded
from viarl.data.loaders import load_dataset
from viarl.video.decode import VIDEO_MISSING, probe


def video_durations(loaded: Loaded) -> list[float]:
    """Container durations (seconds) of the decodable videos."""
    return [probe(Path(v)).duration for v, problem in loaded.videos.items() if problem is None]


def check_command(args) -> int:
    """Handler body: args.path, args.format, args.strict, args.limit (args.video_dir, args.tasks
    when present). Prints a rich summary table and the first skipped entries."""
    from rich.table import Table

    from viarl.console import console

    loaded = load_dataset(
        args.format,
        args.path,
        tasks=getattr(args, "tasks", None),
        strict=bool(getattr(args, "strict", False)),
        limit=getattr(args, "limit", None),
        video_dir=getattr(args, "video_dir", None),
    )
    videos = loaded.videos
    durations = video_durations(loaded)
    table = Table(title=f"{args.format} dataset: {args.path}", show_header=True)
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("entries read", str(len(loaded.samples) + loaded.skips.total))
    table.add_row("samples usable", str(len(loaded.samples)))
    table.add_row("videos referenced", str(len(videos)))
    table.add_row("videos found", str(sum(p != VIDEO_MISSING for p in videos.values())))
    table.add_row("videos decodable", str(sum(p is None for p in videos.values())))
    for reason, n in sorted(loaded.skips.counts.items()):
        table.add_row(f"skipped: {reason}", str(n))
    if durations:
        table.add_row(
            "duration min / median / max (s)",
            f"{min(durations):.1f} / {statistics.median(durations):.1f} / {max(durations):.1f}",
        )
    console.print(table)
    for skip in loaded.skips.skips[:10]:
        console.print(f"  skipped {skip.render()}", markup=False)
    if loaded.skips.total > 10:
        console.print(f"  ... and {loaded.skips.total - 10} more skipped entries")
    if not loaded.samples:
        console.print("[bold red]no usable samples[/]")
        return 2
    return 0
