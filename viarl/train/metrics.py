"""metrics.jsonl: one JSON line per training step, appended as the run goes.

Lines are appended and flushed one at a time, so a killed run keeps every step it logged. On
resume, lines of the interrupted stage past its checkpoint are dropped (the resumed run logs
those steps again), so the file never holds a step twice.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from viarl.atomic import write_text


def _clean(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN/inf; a missing number is honest
    return value


class MetricsLog:
    """Append-only JSON-lines log of training steps."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def append(self, record: dict) -> None:
        line = json.dumps({k: _clean(v) for k, v in record.items()}, ensure_ascii=False)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line + "\n")
            f.flush()

    def read(self) -> list[dict]:
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line torn by kill -9 mid-write
        return out

    def truncate(self, stage_id: str, next_step: int) -> None:
        """Drop the lines of `stage_id` at or after `next_step` (they will be logged again)."""
        keep = [r for r in self.read() if not (r.get("stage_id") == stage_id and r.get("step", 0) >= next_step)]
        write_text(self.path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in keep))

    def keep_stages(self, done: set[str], current: str | None) -> None:
        """Drop lines of stages that neither finished nor are being resumed (killed before a checkpoint)."""
        rows = self.read()
        keep = [r for r in rows if r.get("stage_id") in done or r.get("stage_id") == current]
        if len(keep) != len(rows):
            write_text(self.path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in keep))
