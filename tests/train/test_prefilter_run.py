"""CLIP pre-filtering in `viarl run` (issue 13): training and evaluation on the best T of M frames,
extra `+prefilter` evaluation rows, and the pre-filter, a tracker, LoRA and run.log in one run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from viarl.cli import main
from viarl.video.decode import candidate_indices, probe

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "needle.yaml"


def _predictions(run: Path, cycle: int, selector: str) -> list[dict]:
    path = run / "eval" / f"cycle_{cycle}" / selector / "predictions.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def _assert_prefiltered(rows: list[dict], pool_size: int, T: int) -> None:
    """Each question's T candidates are, in time order, some of the M uniform pool frames."""
    for p in rows:
        pool = candidate_indices(probe(p["video"]).num_frames, pool_size).tolist()
        frames = p["candidate_frames"]
        assert p["candidates"] == T and frames == sorted(frames) and set(frames) <= set(pool)


@pytest.mark.slow
def test_prefilter_rows_beside_plain_rows(overrides, tmp_path):
    args = overrides(**{"stages.cycles": 1, "evaluation.selectors": "[trained,uniform]",
                        "evaluation.prefilter.frames": 24, "evaluation.prefilter.selectors": "[trained,uniform]"})
    assert main(["run", str(RECIPE), *args]) == 0
    run = tmp_path / "run"
    rows = [json.loads(line) for line in (run / "eval.jsonl").read_text().splitlines()]
    assert [r["selector"] for r in rows if r["cycle"] == 1] == [
        "trained", "uniform", "trained+prefilter", "uniform+prefilter"]
    plain = _predictions(run, 1, "uniform")
    filtered = _predictions(run, 1, "uniform+prefilter")
    for p in plain:
        assert p["candidate_frames"] == candidate_indices(probe(p["video"]).num_frames, 8).tolist()
    _assert_prefiltered(filtered, 24, 8)
    _assert_prefiltered(_predictions(run, 1, "trained+prefilter"), 24, 8)
    assert any(a["candidate_frames"] != b["candidate_frames"] for a, b in zip(plain, filtered))
    summary = json.loads((run / "summary.json").read_text())
    assert {"trained+prefilter", "uniform+prefilter"} <= set(summary["final"])


@pytest.mark.slow
def test_prefilter_tracker_lora_and_run_log_together(overrides, tmp_path):
    """The issue's acceptance run, shortened: every piece of issue 13 in one `viarl run`."""
    args = overrides(**{"stages.cycles": 1, "frames.prefilter.frames": 24, "logging.report_to": "[tensorboard]",
                        "models.selector.lora.r": 4, "models.selector.lora.alpha": 8,
                        "evaluation.selectors": "[trained,uniform]"})
    assert main(["run", str(RECIPE), *args]) == 0
    run = tmp_path / "run"
    # Training and evaluation both saw pre-filtered candidates.
    _assert_prefiltered(_predictions(run, 1, "trained"), 24, 8)
    entries = [json.loads(m.read_text()) for m in (tmp_path / "cache").glob("*/*/meta.json")]
    assert any(e.get("variant") and e["variant"]["prefilter"] == 24 for e in entries)
    # run.log, the TensorBoard scalars and the selector's adapter checkpoint.
    log = (run / "run.log").read_text()
    assert "c1-rl" in log and "\r" not in log
    events = EventAccumulator(str(run / "trackers" / "needle"))  # trackers/<recipe name>
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"reward/format", "reward/valid", "reward/correct", "reward/length", "kl"} <= tags
    state = json.loads((run / "state.json").read_text())
    selector = run / state["models"]["selector"]
    assert (selector / "adapter_config.json").is_file() and not (selector / "model.safetensors").exists()
