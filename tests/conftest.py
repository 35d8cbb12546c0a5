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

The fixtures also set HF_HUB_OFFLINE=1 for the session so nothing tries to reach the model hub.
"""

from __future__ import annotations

import os

import pytest

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
