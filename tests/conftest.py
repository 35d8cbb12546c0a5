"""Session fixtures shared by every test module: tiny real models and small real needle datasets.

Each is written once per test session into a temporary folder (pytest's tmp_path_factory) and
must be treated as READ-ONLY by tests (copy it first if a test needs to modify it).

- `tiny_selector_dir`: Path of a tiny random Qwen2.5-VL (role "selector", seed 0) written by
  `viarl.models.tiny.write_tiny_model`; loads with `viarl.models.loading.load_vlm` or the
  transformers Auto classes. Byte-level tokenizer, `<think>`/`</think>`/`<index>`/`</index>` are
  single tokens, 56-px frames are 4 vision tokens each.
- `tiny_answer_dir`: the same architecture, role "answer" (a different random stream).
- `tiny_clip_dir`: a tiny open_clip model; load with `viarl.models.clip.load_clip(path)`.
- `needle_train_dir`, `needle_test_dir`: synthetic needle datasets from
  `viarl.synth.needle.make_needle_dataset` (seed 0, 4 videos x 96 frames, 128x128, fps 24),
  splits "train" and "test": MLVU layout (json/1_needle.json, video/1_needle/*.mp4) plus
  truth.json with each video's needle span.
- `damaged_partial`: a function (run folder, damage) that leaves a mid-stage checkpoint of stage
  c1-sft there, as `run.save_every` would, then damages it ("empty-trainer", "truncated-model",
  "missing-trainer"); returns the damaged file.
- `tiny_run_args`: a function (folder, **overrides) → `viarl run recipes/needle.yaml` overrides
  for a seconds-long run on the fixtures above (run folder and frame cache under `folder`).
- `tiny_trained_run`: the folder of one such run, one cycle, whose selector learnt the format
  (its greedy picks parse) and whose answer model answers with letters: a trained selector and
  answer model for evaluation tests (checkpoints/c1-rl/selector, checkpoints/c1-sft/answer).

The fixtures also set HF_HUB_OFFLINE=1 for the session so nothing tries to reach the model hub.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

NEEDLE_FIXTURE_ARGS = dict(videos=4, frames=96, fps=24, seed=0, difficulty=1.0, size=(128, 128))

# Tests never touch the hub; set before transformers / huggingface_hub read their settings.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def tiny_selector_dir(tmp_path_factory):
    """A tiny random Qwen2.5-VL selector checkpoint folder (seed 0)."""
    from viarl.models.tiny import write_tiny_model

    return write_tiny_model(tmp_path_factory.mktemp("models") / "selector", "selector", seed=0)


@pytest.fixture(scope="session")
def tiny_answer_dir(tmp_path_factory):
    """A tiny random Qwen2.5-VL answer-model checkpoint folder (seed 0)."""
    from viarl.models.tiny import write_tiny_model

    return write_tiny_model(tmp_path_factory.mktemp("models") / "answer", "answer", seed=0)


@pytest.fixture(scope="session")
def tiny_clip_dir(tmp_path_factory):
    """A tiny random open_clip model folder (open_clip_config.json + safetensors)."""
    from viarl.models.tiny import write_tiny_model

    return write_tiny_model(tmp_path_factory.mktemp("models") / "clip", "clip", seed=0)


@pytest.fixture(scope="session")
def needle_train_dir(tmp_path_factory):
    """A small needle dataset, split "train" (4 videos x 96 frames, 128x128, 24 fps)."""
    from viarl.synth.needle import make_needle_dataset

    return make_needle_dataset(tmp_path_factory.mktemp("needle") / "train", split="train",
                               **NEEDLE_FIXTURE_ARGS)


@pytest.fixture(scope="session")
def needle_test_dir(tmp_path_factory):
    """A small needle dataset, split "test" (same arguments as needle_train_dir)."""
    from viarl.synth.needle import make_needle_dataset

    return make_needle_dataset(tmp_path_factory.mktemp("needle") / "test", split="test",
                               **NEEDLE_FIXTURE_ARGS)


ROOT = Path(__file__).resolve().parents[1]


def _tiny_overrides(tmp: Path, sel, ans, clip, train, test, **extra) -> list[str]:
    """needle.yaml shrunk to seconds: session tiny models, fixture videos, a few steps per stage."""
    o = {
        "output_dir": tmp / "run", "frames.cache_dir": tmp / "cache", "run.threads": 1,
        "models.selector.path": sel, "models.answer.path": ans, "models.clip.model": clip,
        "models.selector.tiny_seed": "null", "models.selector.pretrain": "null", "models.answer.tiny_seed": "null", "models.clip.tiny_seed": "null",
        "models.answer.pretrain": "null", "sft.target": "letter", "answer_warmup.target": "letter",
        "data.train.path": train, "data.eval.path": test, "data.synthetic": "null",
        "data.final.test": "null", "data.final.shifted": "null",
        "warmup.steps": 3, "warmup.batch_size": 2, "sft.steps": 2, "sft.batch_size": 2,
        "answer_warmup.steps": 2, "answer_warmup.batch_size": 2,
        "rl.lr": 0.001,  # pinned: tests name it, and the shipped recipe's value is tuned over time
        "rl.steps": 3, "rl.prompts_per_step": 2, "rl.samples_per_prompt": 2, "rl.minibatch_size": 4,
        "models.selector.max_new_tokens": 12, "evaluation.limit": 2, "run.save_every": 2,
        # The session's selector is random, not grounding-pretrained: it needs the format warm-up.
        "stages.before": "[warmup,answer_warmup]", "stages.cycle": "[rl,sft]",
        "frames.index_text": "after",  # pinned: the warm-up lengths above were measured with it
        "stages.cycles": 2, "rewards.file": ROOT / "rewards" / "viarl.rules",
        "evaluation.prefilter": "null",  # the shipped recipe's extra `+prefilter` rows: tests ask for them by name
    }
    o.update(extra)
    return [f"{k}={v}" for k, v in o.items()]


@pytest.fixture(scope="session")
def tiny_run_args(tiny_selector_dir, tiny_answer_dir, tiny_clip_dir, needle_train_dir, needle_test_dir):
    """make(folder, **extra): overrides for a seconds-long needle.yaml run under `folder`."""

    def make(tmp: Path, **extra) -> list[str]:
        return _tiny_overrides(tmp, tiny_selector_dir, tiny_answer_dir, tiny_clip_dir, needle_train_dir,
                               needle_test_dir, **extra)
    return make


# A format warm-up long enough for the tiny selector to write `<think>w</think><index>i, j</index>`,
# and an answer warm-up long enough for the answer model to write letters (measured: 4/4 parse).
# The warm-up lengths were measured with the question after the frames, which the fixture keeps.
TRAINED_RUN = {"stages.cycles": 1, "evaluation.selectors": "[trained,uniform]", "evaluation.limit": 4,
               "frames.question_position": "after",
               "warmup.steps": 30, "warmup.lr": 0.003, "warmup.think_words": 1, "warmup.batch_size": 4,
               "models.selector.max_new_tokens": 16, "answer_warmup.steps": 20, "answer_warmup.lr": 0.003,
               "answer_warmup.batch_size": 4}


@pytest.fixture(scope="session")
def tiny_trained_run(tmp_path_factory, tiny_run_args):
    """A finished one-cycle `viarl run` folder (see the module docstring); read-only."""
    from viarl.cli import main

    tmp = tmp_path_factory.mktemp("trained")
    assert main(["run", str(ROOT / "recipes" / "needle.yaml"), *tiny_run_args(tmp, **TRAINED_RUN)]) == 0
    return tmp / "run"


@pytest.fixture(scope="session")
def damaged_partial():
    """make(run, damage) → the damaged file of a c1-sft mid-stage checkpoint written into `run`."""
    import torch

    from viarl.train import checkpoint as ckpt

    def make(run: Path, damage: str) -> Path:
        layer = torch.nn.Linear(2, 2)
        opt = torch.optim.SGD(layer.parameters(), lr=0.1)
        folder = run / "checkpoints" / "c1-sft.partial"
        ckpt.save_partial(folder, layer, opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0), 1, None, {})
        if damage == "empty-trainer":
            (folder / "trainer.pt").write_bytes(b"")
            return folder / "trainer.pt"
        if damage == "truncated-model":
            (folder / "model.pt").write_bytes((folder / "model.pt").read_bytes()[:-30])
            return folder / "model.pt"
        (folder / "trainer.pt").unlink()
        return folder / "trainer.pt"
    return make


@pytest.fixture(scope="module")
def selector(tiny_selector_dir):
    """(model, processor) of the tiny selector, loaded the way a hub checkpoint is."""
    from viarl.models.loading import load_vlm

    torch.manual_seed(0)
    return load_vlm(str(tiny_selector_dir))


@pytest.fixture(scope="module")
def frames():
    """Sixteen 56-px random RGB frames."""
    rng = np.random.default_rng(0)
    return [Image.fromarray(rng.integers(0, 255, (56, 56, 3), dtype=np.uint8)) for _ in range(16)]
