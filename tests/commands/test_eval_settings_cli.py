"""`viarl eval` (issue 23): the settings block printed and in results.json, field by field, and no
"Loading weights" bars unless --verbose. Run as the user runs it: a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import transformers

import viarl
from viarl.eval.settings import SPACING, prompt_digest, settings_lines
from viarl.policy.prompts import PROMPT_VERSION

ROOT = Path(__file__).resolve().parents[2]


def viarl_eval(args: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "viarl.cli", "eval", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_settings_block_printed_and_written_and_no_loading_bars(tmp_path, needle_test_dir, tiny_answer_dir,
                                                                 tiny_selector_dir, tiny_clip_dir):
    out = tmp_path / "out"
    args = ["--data", f"mlvu:{needle_test_dir}", "--selector", "uniform", "--selector", str(tiny_selector_dir),
            "--answer", str(tiny_answer_dir), "--clip", str(tiny_clip_dir), "--prefilter", "12", "-T", "6", "-N", "2",
            "--selector-size", "32", "--answer-size", "56", "--answer-tokens", "3", "--selector-tokens", "5",
            "--index-text", "after", "--limit", "2", "--seed", "4", "--cache", str(tmp_path / "cache"),
            "--out", str(out)]
    quiet = viarl_eval(args)
    assert quiet.returncode == 0, quiet.stderr[-2000:]
    block = json.loads((out / "results.json").read_text())["settings"]
    size = transformers.AutoProcessor.from_pretrained(str(tiny_answer_dir)).image_processor.size
    limits = {"min_pixels": size.shortest_edge, "max_pixels": size.longest_edge}
    assert block == {
        "settings_version": 1,
        "frames": {"candidates": 6, "select": 2, "spacing": SPACING,
                   "prefilter": {"pool": 12, "model": str(tiny_clip_dir)}, "extra_prefilter_rows": None},
        "selector": {"size": 32, **limits, "index_text": "after", "max_new_tokens": 5, "decoding": "greedy",
                     "dtype": "float32"},
        "answer": {"size": 56, **limits, "max_new_tokens": 3, "decoding": "greedy", "prompt": "viarl",
                   "dtype": "float32"},
        "prompt_template": {"version": PROMPT_VERSION, "digest": prompt_digest()},
        "models": {"selectors": {"uniform": "uniform", "trained": str(tiny_selector_dir)},
                   "answer": str(tiny_answer_dir), "clip": str(tiny_clip_dir)},
        "seed": 4,
        "versions": {"viarl": viarl.__version__, "transformers": transformers.__version__,
                     "torch": torch.__version__},
    }
    printed = quiet.stdout.splitlines()
    assert "evaluation settings:" in printed
    assert all(f"  {line}" in printed for line in settings_lines(block))
    assert "Loading weights" not in quiet.stdout + quiet.stderr

    loud = viarl_eval([*args[:-1], str(tmp_path / "loud"), "--verbose"])
    assert loud.returncode == 0 and "Loading weights" in loud.stdout + loud.stderr
