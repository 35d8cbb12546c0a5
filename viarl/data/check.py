"""`viarl data check`: load a dataset and report what is usable.

The command itself is registered by viarl/commands/data.py; this is its body. Exit code 0 when
at least one sample loads, 2 when none does (or, with --strict, at the first problem).
"""

from __future__ import annotations

import statistics
from pathlib import Path

from rich.table import Table

from viarl.console import console, shown
from viarl.data.collect import Loaded
from viarl.data.loaders import load_dataset
from viarl.data.truth import TRUTH_NAME, dataset_root, read_truth, slot_histogram
from viarl.video.decode import VIDEO_MISSING, probe


def video_durations(loaded: Loaded) -> list[float]:
    """Container durations (seconds) of the decodable videos."""
    return [probe(Path(v)).duration for v, problem in loaded.videos.items() if problem is None]


def print_slot_histogram(path: Path, candidates: int) -> None:
    """Where the needle sits among T uniform candidates, for a synthetic set with a truth.json.

    Only the dataset's own folder counts (`truth.dataset_root`); a truth.json of another format
    there is noted and ignored."""
    root = dataset_root(path)
    note = read_truth(root)[2]
    if note:
        console.print(f"note: {note}", markup=False)
        return
    counts = slot_histogram(root, candidates)
    if not counts:
        return
    total = sum(counts)
    table = Table(title=f"needle position over T={candidates} candidate slots ({root / TRUTH_NAME})")
    table.add_column("slot", justify="right")
    table.add_column("videos", justify="right")
    table.add_column("share", justify="right")
    table.add_column("", justify="left")
    for slot, n in enumerate(counts):
        share = n / total if total else 0.0
        table.add_row(str(slot), str(n), f"{share:.3f}", "█" * round(40 * share))
    console.print(table)
    spread = (max(counts) - min(counts)) if counts else 0
    console.print(f"{total} videos; slot counts range {min(counts)}-{max(counts)} (spread {spread}); "
                  f"a content-blind pick of N slots hits about N/{candidates} when the counts are flat")


def check_command(args) -> int:
    """Handler body: args.path, args.format, args.strict, args.limit (args.video_dir, args.tasks
    when present). Prints a rich summary table and the first skipped entries."""
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
    table = Table(title=f"{args.format} dataset: {shown(args.path)}", show_header=True)
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("entries read", str(len(loaded.samples) + loaded.skips.total))
    table.add_row("samples usable", str(len(loaded.samples)))
    table.add_row("videos referenced", str(len(videos)))
    table.add_row("videos found", str(sum(p != VIDEO_MISSING for p in videos.values())))
    table.add_row("videos decodable", str(sum(p is None for p in videos.values())))
    for reason, n in sorted(loaded.skips.counts.items()):
        table.add_row(f"skipped: {shown(reason)}", str(n))
    if durations:
        table.add_row(
            "duration min / median / max (s)",
            f"{min(durations):.1f} / {statistics.median(durations):.1f} / {max(durations):.1f}",
        )
    console.print(table)
    print_slot_histogram(Path(args.path), getattr(args, "candidates", 8) or 8)
    for line in loaded.skips.lines(10):
        console.print(f"  {line}", markup=False)
    if not loaded.samples:
        console.print("[bold red]no usable samples[/]")
        return 2
    return 0
