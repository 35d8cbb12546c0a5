"""Accuracy tables: overall and per question type, several selectors side by side.

Groups come from the prediction rows themselves (written by `viarl.eval.evaluate`):

* ``overall``: every answered question;
* ``type=<t>``: per question type. A row's ``question_type`` may be a list (LVBench questions
  carry several types); the row then counts once in *each* of its types;
* ``duration=<d>`` and ``duration=<d>/type=<t>``: only when rows carry a ``duration_class``
  (VideoMME's short / medium / long), giving the duration × task type breakdown.

Each cell keeps its question count, so a reader sees how much an accuracy is worth. The needle
hit rate is computed over the rows whose ``hit`` is known (not None). Skipped entries (videos
that failed to load, annotations the loader rejected) are listed by reason per selector.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from rich.table import Table

from viarl.atomic import write_json, write_text
from viarl.console import console, shown

OVERALL = "overall"


@dataclass
class Cell:
    """Counts of one table cell: questions, correct ones, and needle hits where truth is known."""

    n: int = 0
    correct: int = 0
    hit_n: int = 0
    hits: int = 0

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.n if self.n else None

    @property
    def hit_rate(self) -> float | None:
        return self.hits / self.hit_n if self.hit_n else None

    def add(self, row: Mapping[str, Any]) -> None:
        self.n += 1
        self.correct += bool(row.get("correct"))
        if row.get("hit") is not None:
            self.hit_n += 1
            self.hits += bool(row["hit"])

    def to_json(self) -> dict[str, Any]:
        return {"n": self.n, "correct": self.correct, "accuracy": self.accuracy,
                "hit_n": self.hit_n, "hit_rate": self.hit_rate}


def question_types(row: Mapping[str, Any]) -> list[str]:
    """The row's question types as a list (a string is one type; None or empty gives none)."""
    qt = row.get("question_type")
    if qt is None or qt == "":
        return []
    if isinstance(qt, (list, tuple)):
        return sorted({str(t) for t in qt if str(t)})
    return [str(qt)]


def row_groups(row: Mapping[str, Any]) -> list[str]:
    """Every table group a prediction row counts in (see the module docstring)."""
    groups = [OVERALL]
    types = question_types(row)
    groups += [f"type={t}" for t in types]
    dur = row.get("duration_class")
    if dur:
        groups.append(f"duration={dur}")
        groups += [f"duration={dur}/type={t}" for t in types]
    return groups


@dataclass
class SelectorSummary:
    """All cells of one selector, with its fallback count and skipped entries by reason."""

    name: str
    cells: dict[str, Cell]
    fallbacks: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def overall(self) -> Cell:
        return self.cells.get(OVERALL, Cell())

    def to_json(self) -> dict[str, Any]:
        return {"selector": self.name, "fallbacks": self.fallbacks,
                "skipped": dict(sorted(self.skipped.items())),
                "cells": {g: c.to_json() for g, c in self.cells.items()}}


def summarize(name: str, rows: Iterable[Mapping[str, Any]], *,
              skipped: Mapping[str, int] | None = None) -> SelectorSummary:
    """Count `rows` (prediction dicts) into cells for the selector called `name`."""
    cells: dict[str, Cell] = {OVERALL: Cell()}
    fallbacks = 0
    for row in rows:
        fallbacks += bool(row.get("fallback"))
        for g in row_groups(row):
            cells.setdefault(g, Cell()).add(row)
    return SelectorSummary(name, cells, fallbacks, dict(skipped or {}))


def _group_order(g: str) -> tuple:
    # overall first, then types, then durations (short < medium < long), then crossings
    dur_rank = {"short": 0, "medium": 1, "long": 2}
    if g == OVERALL:
        return (0,)
    if g.startswith("type="):
        return (1, g)
    d, _, t = g.partition("/")
    d = d.removeprefix("duration=")
    return (2 if not t else 3, dur_rank.get(d, 9), d, t)


def _pct(x: float | None) -> str:
    return "" if x is None else f"{100 * x:.1f}"


@dataclass
class ResultsTable:
    """Several selectors side by side (one row each), written as CSV, JSON and a rich table."""

    summaries: list[SelectorSummary]
    settings: dict[str, Any] | None = None  # the evaluation settings block (eval.settings)

    @property
    def groups(self) -> list[str]:
        seen = {g for s in self.summaries for g in s.cells}
        return sorted(seen, key=_group_order)

    @property
    def skip_reasons(self) -> list[str]:
        return sorted({r for s in self.summaries for r in s.skipped})

    def header(self) -> list[str]:
        cols = ["selector", "n", "accuracy", "hit_rate", "hit_n", "fallbacks", "skipped"]
        cols += [f"skipped:{r}" for r in self.skip_reasons]
        for g in self.groups:
            if g != OVERALL:
                cols += [f"accuracy:{g}", f"n:{g}"]
        return cols

    def records(self) -> list[dict[str, Any]]:
        """One flat dict per selector, keys as in `header()` (absent cells are None)."""
        out = []
        for s in self.summaries:
            o = s.overall
            rec: dict[str, Any] = {"selector": s.name, "n": o.n, "accuracy": o.accuracy,
                                   "hit_rate": o.hit_rate, "hit_n": o.hit_n,
                                   "fallbacks": s.fallbacks, "skipped": sum(s.skipped.values())}
            for r in self.skip_reasons:
                rec[f"skipped:{r}"] = s.skipped.get(r, 0)
            for g in self.groups:
                if g != OVERALL:
                    c = s.cells.get(g)
                    rec[f"accuracy:{g}"] = c.accuracy if c else None
                    rec[f"n:{g}"] = c.n if c else 0
            out.append(rec)
        return out

    def to_csv(self) -> str:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=self.header(), lineterminator="\n")
        w.writeheader()
        for rec in self.records():
            w.writerow({k: ("" if v is None else (f"{v:.6f}" if isinstance(v, float) else v))
                        for k, v in rec.items()})
        return buf.getvalue()

    def to_json(self) -> dict[str, Any]:
        out = {"groups": self.groups, "selectors": [s.to_json() for s in self.summaries]}
        return out if self.settings is None else {"settings": self.settings, **out}

    def write(self, out_dir: str | Path, stem: str = "results") -> tuple[Path, Path]:
        """Write `<stem>.csv` and `<stem>.json` into `out_dir`; returns both paths."""
        out_dir = Path(out_dir)
        csv_path, json_path = out_dir / f"{stem}.csv", out_dir / f"{stem}.json"
        write_text(csv_path, self.to_csv())
        write_json(json_path, self.to_json())
        return csv_path, json_path

    def rich_tables(self, max_group_cols: int = 6, title: str = "accuracy (%)") -> list:
        """rich Tables: overall columns first, then the groups split into chunks that fit."""
        groups = [g for g in self.groups if g != OVERALL]
        chunks = [groups[i:i + max_group_cols] for i in range(0, len(groups), max_group_cols)]
        tables = []
        for k, chunk in enumerate(chunks or [[]]):
            t = Table(title=shown(title) if k == 0 and title else None, show_lines=False)
            t.add_column("selector", style="bold")
            if k == 0:
                for col in ("n", "accuracy", "hit rate", "fallbacks", "skipped"):
                    t.add_column(col, justify="right")
            for g in chunk:
                t.add_column(shown(g), justify="right")
            for s in self.summaries:
                cells = [shown(s.name)]
                if k == 0:
                    o = s.overall
                    cells += [str(o.n), _pct(o.accuracy), _pct(o.hit_rate), str(s.fallbacks),
                              ", ".join(f"{r}: {c}" for r, c in sorted(s.skipped.items())) or "0"]
                for g in chunk:
                    c = s.cells.get(g)
                    cells.append(f"{_pct(c.accuracy)} ({c.n})" if c else "")
                t.add_row(*cells)
            tables.append(t)
        return tables

    def print(self) -> None:
        """Print the rich tables on viarl's console."""
        for t in self.rich_tables():
            console.print(t)
