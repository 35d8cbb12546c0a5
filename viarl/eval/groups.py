"""Hit rate and accuracy grouped by the true answer's text and by the candidate slot of the truth.

A mean hides a blind spot: a selector that never finds blue needles, with an answer model that
says "blue" whenever it sees no needle, scores well on average. Grouping every evaluation by the
right option's text (generic: any benchmark's options) and, where a truth file says which frames
hold the answer, by the first candidate slot inside them, shows such a hole at once.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable

from rich.table import Table

from viarl.console import console


def truth_slot(candidate_frames: list[int], spans) -> int | None:
    """The first candidate position whose source frame lies in a truth span, or None."""
    for pos, frame in enumerate(candidate_frames):
        if any(lo <= frame < hi for lo, hi in spans):
            return pos
    return None


def _cell(rows: list[dict[str, Any]]) -> dict[str, Any]:
    hits = [r["hit"] for r in rows if r.get("hit") is not None]
    return {"n": len(rows), "accuracy": sum(r["correct"] for r in rows) / len(rows) if rows else None,
            "hit_rate": sum(hits) / len(hits) if hits else None,
            "accuracy_on_hits": _mean([r["correct"] for r in rows if r.get("hit") is True]),
            "accuracy_on_misses": _mean([r["correct"] for r in rows if r.get("hit") is False])}


def _mean(values: list) -> float | None:
    return sum(values) / len(values) if values else None


def group_rows(rows: Iterable[dict[str, Any]], key) -> dict[str, dict[str, Any]]:
    """{group: cell} over prediction rows, `key(row)` naming each row's group (None: left out)."""
    groups: dict[str, list] = defaultdict(list)
    for r in rows:
        k = key(r)
        if k is not None:
            groups[str(k)].append(r)
    return {k: _cell(v) for k, v in sorted(groups.items())}


def answer_text(row: dict[str, Any]) -> str | None:
    """The right option's text of a prediction row (None when its answer letter is not an option)."""
    i = ord(str(row.get("answer", "?"))[:1] or "?") - ord("A")
    options = row.get("options") or []
    return str(options[i]).strip().casefold() if 0 <= i < len(options) else None


def by_answer(rows) -> dict[str, dict[str, Any]]:
    """Cells per true answer text."""
    return group_rows(rows, answer_text)


def by_slot(rows) -> dict[str, dict[str, Any]]:
    """Cells per candidate slot of the truth (rows without truth are left out)."""
    return group_rows(rows, lambda r: r.get("truth_slot"))


def print_group_tables(cells: dict[str, dict[str, Any]], title: str) -> None:
    """A table by true answer and one by truth slot: a row per selector, a column per group,
    "hit / accuracy" in each cell. `cells` maps a selector to a dict with `by_answer`/`by_slot`."""
    for group, what in (("by_answer", "true answer"), ("by_slot", "candidate slot of the truth")):
        names = sorted({k for c in cells.values() for k in (c.get(group) or {})},
                       key=lambda k: (not k.isdigit(), int(k) if k.isdigit() else 0, k))
        if not names:
            continue
        table = Table(title=f"{title}: hit rate / accuracy by {what}")
        table.add_column("selector")
        for n in names:
            table.add_column(n, justify="right")
        for sel, c in cells.items():
            g = c.get(group) or {}
            table.add_row(sel, *(_pair(g.get(n)) for n in names))
        console.print(table)


def _pair(cell) -> str:
    if not cell:
        return "-"
    hit = "-" if cell.get("hit_rate") is None else f"{cell['hit_rate']:.2f}"
    return f"{hit} / {cell['accuracy']:.2f}"
