"""The RL stage's latest pick per question, which the answer SFT can reuse (`sft.picks: rollout`).

Every RL step already samples k completions of each of its questions, so the pick of a
question's first sample in its latest rollout is a draw from the selector as it was then. SFT
on those picks needs no selector call at all, where `sft.picks: sample` decodes a full selector
completion for every example of every SFT step. The RL stage writes the picks atomically, at each
checkpoint and at its end, as one JSON object per stage: `picks/<stage id>.json` in the run
folder, sample id → frame indices (uniformly spaced where the completion named no valid frames,
as `sample` does).
"""

from __future__ import annotations

from pathlib import Path

from viarl.data.files import read_json
from viarl.errors import UserError


def picks_file(run_dir: Path, stage_id: str) -> Path:
    """Where the RL stage `stage_id` keeps each question's latest pick."""
    return run_dir / "picks" / f"{stage_id}.json"


def load_picks(path: Path) -> dict[str, list[int]]:
    """The picks an RL stage wrote at `path` (empty when it has written none yet)."""
    if not path.exists():
        return {}
    data = read_json(path, "RL picks file")
    if not isinstance(data, dict) or not all(
            isinstance(v, list) and all(isinstance(i, int) and not isinstance(i, bool) for i in v)
            for v in data.values()):
        raise UserError(f"{path} is not an object of sample id → frame indices", where=str(path),
                        fix="delete it; the RL stage writes it again at its next checkpoint")
    return data


def cycle_picks(run_dir: Path, cycle: int) -> dict[str, list[int]]:
    """The picks of the RL stages of `cycle`, later stages' picks over earlier ones (empty if none)."""
    out: dict[str, list[int]] = {}
    for path in sorted((run_dir / "picks").glob(f"c{cycle}-*.json")):
        out.update(load_picks(path))
    return out
