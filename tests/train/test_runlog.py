"""run.log (issue 13, piece 4): the console as plain text in the run folder, with each progress bar's
final line only, no blank-line runs, one clean line per unreadable video, and where a resume restarted."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from viarl.cli import main
from viarl.models.loading import load_vlm
from viarl.train.engine import quiet_libraries
from viarl.train.runlog import PlainLines
from viarl.train.sft_stage import WarmupStage

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "needle.yaml"


def _reference(chunks: list[str]) -> list[str]:
    """What PlainLines should keep of `chunks`: per line, the last carriage-return state without
    trailing spaces; no blank line first, none after another."""
    out: list[str] = []
    for line in "".join(chunks).split("\n")[:-1]:
        line = line.split("\r")[-1].rstrip()
        if line or (out and out[-1]):
            out.append(line)
    return out


@given(st.lists(st.text(alphabet="ab \r\n━", max_size=12), max_size=12))
def test_plain_lines_keep_whole_lines_only(chunks):
    sink = io.StringIO()
    lines = PlainLines(sink)
    for chunk in chunks:
        lines.write(chunk)
    text = sink.getvalue()
    kept = text.split("\n")[:-1]
    assert "\r" not in text and "\n\n\n" not in text and not text.startswith("\n")
    assert all(line == line.rstrip() for line in kept)
    assert kept == _reference(chunks)


def test_transformers_loading_bars_show_only_when_verbose(tiny_answer_dir, capfd):
    quiet_libraries(verbose=True)
    load_vlm(str(tiny_answer_dir))
    assert "Loading weights" in capfd.readouterr().err
    quiet_libraries()  # what `viarl run` does without --verbose
    load_vlm(str(tiny_answer_dir))
    assert "Loading weights" not in capfd.readouterr().err


def _junk_free(text: str) -> None:
    lines = text.split("\n")
    assert "\r" not in text and "\x1b" not in text  # no redraws, no colours
    assert all(a or b for a, b in zip(lines, lines[1:-1]))  # never two blank lines in a row
    assert all(a != b for a, b in zip(lines, lines[1:]) if a.strip())  # no line repeated right away


@pytest.mark.slow
def test_run_log_after_an_interruption_a_resume_and_a_corrupt_video(overrides, tmp_path, capfd, monkeypatch,
                                                                    needle_train_dir):
    # Training data with one video replaced by random bytes: decord prints a C++ ERROR line for it.
    train = tmp_path / "train"
    shutil.copytree(needle_train_dir, train)
    bad = sorted((train / "video").rglob("*.mp4"))[1]
    bad.write_bytes(np.random.default_rng(1).integers(0, 256, 6000, dtype=np.uint8).tobytes())
    run = tmp_path / "run"
    args = overrides(**{"data.train.path": train, "stages.before": "[warmup]", "stages.cycles": 0,
                        "evaluation.selectors": "[uniform]", "evaluation.after_each_cycle": "false",
                        "warmup.steps": 4, "run.save_every": 2, "logging.report_to": "[tensorboard]"})
    # Killed (Ctrl-C) at step 3 of the warm-up: after its mid-stage checkpoint at step 2 and
    # after logging step 2, which the resumed run logs again.
    real_step = WarmupStage.step

    def step(self, i):
        if i == 3:
            raise KeyboardInterrupt
        return real_step(self, i)
    monkeypatch.setattr(WarmupStage, "step", step)
    assert main(["run", str(RECIPE), *args]) == 130
    first = (run / "run.log").read_text()
    assert first.rstrip().split("\n")[-1].startswith("interrupted ")
    monkeypatch.undo()
    assert main(["run", str(RECIPE), *args, "--resume", str(run)]) == 0
    # One more stage, added on purpose: the resume starts at a stage boundary.
    assert main(["run", str(RECIPE), *args, "stages.cycles=1", "stages.cycle=[sft]", "sft.steps=1",
                 "--resume", str(run), "--allow-changes"]) == 0
    out, err = capfd.readouterr()
    log = (run / "run.log").read_text()
    assert log.startswith(first)  # appended, never rewritten
    _junk_free(log)
    lines = log.split("\n")
    assert [line.split()[0] for line in lines if line.startswith(("started", "resumed 20", "finished",
                                                                  "interrupted"))] == [
        "started", "interrupted", "resumed", "finished", "resumed", "finished"]
    assert "resumed from checkpoint checkpoints/pre0-warmup.partial: cycle 0, stage pre0-warmup, step 2 " \
           "(global step 2)" in lines
    assert "resumed from the last finished stage: cycle 1, stage c1-sft, step 0 (global step 4)" in lines
    # TensorBoard shows each step once: the interrupted run's step 2 (global step 3) was dropped
    # when the resumed run logged it again, so its curve is metrics.jsonl's.
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    events = EventAccumulator(str(run / "trackers" / "needle"), size_guidance={"scalars": 0})
    events.Reload()
    assert [(e.step, pytest.approx(e.value)) for e in events.Scalars("loss")] == [
        (r["global_step"], r["loss"]) for r in metrics]
    # Each bar leaves its final state once: 3/4 when interrupted, 4/4 after the resume.
    bars = [line.split()[2] for line in lines if line.startswith("pre0-warmup ━")]
    assert bars == ["3/4", "4/4"]
    assert sum(line.startswith("c1-sft ━") for line in lines) == 1
    # The corrupt video: one clean skip line per load (three starts), no C++ line anywhere.
    skips = [line for line in lines if line.lstrip().startswith("skipped ") and "video unreadable" in line]
    assert len(skips) == 3 and all(str(bad) in s and "(Invalid data found when processing input)" in s
                                   for s in skips)
    for text in (out, err, log):
        assert "video_reader.cc" not in text and "ERROR opening" not in text
    shown = [line for line in out.split("\n") if line.lstrip().startswith("skipped ")]
    assert len(shown) == 3 and all(line.endswith(f"{bad} (Invalid data found when processing input)") for line in shown)
