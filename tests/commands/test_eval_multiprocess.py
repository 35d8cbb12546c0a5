"""`viarl eval` and in-run evaluation under `accelerate launch` with 2 CPU processes: each process
evaluates its share of the questions, and the files written are those of one process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from viarl.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(args: list[str], home: Path, config: str = "ddp_cpu.yaml") -> str:
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--config_file",
           str(ROOT / "configs" / "accelerate" / config), "--num_processes", "2",
           "--main_process_port", str(_free_port()), "-m", "viarl.cli", *args]
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1", "HF_HOME": str(home)}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    return proc.stdout


def outputs(folder: Path) -> dict[str, str]:
    """Every file an evaluation wrote, by path relative to `folder`."""
    return {p.relative_to(folder).as_posix(): p.read_text() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
@pytest.mark.parametrize("config", ["ddp_cpu.yaml", "fsdp_cpu.yaml"])
def test_two_process_eval_writes_what_one_process_writes(tmp_path, needle_test_dir, tiny_answer_dir,
                                                         tiny_selector_dir, tiny_clip_dir, config):
    def args(out: Path) -> list[str]:
        return ["eval", str(ROOT / "recipes" / "needle.yaml"), f"models.answer.path={tiny_answer_dir}",
                f"models.selector.path={tiny_selector_dir}", "models.selector.pretrain=null",
                f"models.clip.model={tiny_clip_dir}", f"data.eval.path={needle_test_dir}", "data.synthetic=null",
                f"data.train.path={needle_test_dir}", f"output_dir={out}", "frames.candidates=8",
                "frames.select=2", "frames.selector_size=32", "frames.answer_size=56",
                f"frames.cache_dir={tmp_path / 'cache'}", "evaluation.selectors=[uniform,clip,trained]",
                "evaluation.answer_batch_size=1", "models.answer.max_new_tokens=4",
                "models.selector.max_new_tokens=8", "run.threads=1"]

    assert main(args(tmp_path / "one")) == 0
    printed = launch(args(tmp_path / "two"), tmp_path, config)
    one, two = outputs(tmp_path / "one" / "eval"), outputs(tmp_path / "two" / "eval")
    assert set(one) == {".viarl-written", "results.csv", "results.json", "groups.json",
                        *(f"{s}/predictions.jsonl" for s in ("uniform", "clip", "trained"))}
    assert two == one  # accuracy, hit rate and every prediction, byte for byte
    rows = [json.loads(x) for x in one["trained/predictions.jsonl"].splitlines()]
    assert len(rows) == 4  # the fixture's test split: 4 questions, 2 per process
    assert printed.count("predictions and results in") == 1  # one process reports


@pytest.mark.slow
def test_in_run_evaluation_on_two_processes_writes_what_one_process_writes(tmp_path, tiny_run_args):
    """Cycle 0's evaluation (before any training, so both runs hold the same models) of a
    2-process run: each process evaluates its share, the main one writes the files."""
    def args(name: str) -> list[str]:
        return ["run", str(ROOT / "recipes" / "needle.yaml"),
                *tiny_run_args(tmp_path / name, **{"output_dir": tmp_path / name / "run", "stages.before": "[]",
                                                   "stages.cycles": 0, "evaluation.answer_batch_size": 1,
                                                   "evaluation.selectors": "[trained,uniform]"})]

    assert main(args("one")) == 0
    launch(args("two"), tmp_path)
    one, two = outputs(tmp_path / "one" / "run" / "eval"), outputs(tmp_path / "two" / "run" / "eval")
    assert set(one) >= {"cycle_0/trained/predictions.jsonl", "cycle_0/uniform/predictions.jsonl"}
    assert two == one
    rows = [json.loads(x) for x in (tmp_path / "one" / "run" / "eval.jsonl").read_text().splitlines()]
    assert rows == [json.loads(x) for x in (tmp_path / "two" / "run" / "eval.jsonl").read_text().splitlines()]
