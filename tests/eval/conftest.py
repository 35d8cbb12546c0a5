"""Fixtures for evaluation tests: the eval fixture trees with their good videos written, and
loaded tiny models (module scope: loading is the slow part)."""

import shutil
from pathlib import Path

import numpy as np
import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "eval"

# Good videos per layout (relative to the layout root); the corrupt ones are committed.
GOOD_VIDEOS = {
    "mlvu": ["video/1_needle/vA.mp4", "video/1_needle/vB.mp4", "video/2_count/vC.mp4",
             "video/2_count/vA.mp4"],
    "videomme": ["videos/vmA.mp4", "videos/vmB.mp4"],
    "lvbench": ["videos/lvA.mp4", "videos/lvB.mp4"],
}


def tiny_clip(path: Path, seed: int, frames: int = 12) -> None:
    """A 12-frame 32x32 coded clip whose frames differ (a moving bright square on a tinted ground)."""
    from viarl.video.encode import write_video

    rng = np.random.default_rng(seed)
    base = rng.integers(0, 200, size=3)
    out = []
    for i in range(frames):
        f = np.zeros((32, 32, 3), dtype=np.uint8) + base.astype(np.uint8)
        f[(i * 2) % 24:(i * 2) % 24 + 8, 4:12] = 255
        out.append(f)
    write_video(path, out, fps=12)


def build_layout(name: str, dest: Path) -> Path:
    root = dest / name
    shutil.copytree(FIXTURES / name, root)
    for k, rel in enumerate(GOOD_VIDEOS[name]):
        tiny_clip(root / rel, seed=k)
    return root


@pytest.fixture(scope="session")
def eval_layouts(tmp_path_factory):
    """{layout name: root} of the three fixture trees with good videos written."""
    dest = tmp_path_factory.mktemp("eval_layouts")
    return {name: build_layout(name, dest) for name in GOOD_VIDEOS}


@pytest.fixture(scope="session")
def answerer(tiny_answer_dir):
    from viarl.models.loading import load_vlm
    from viarl.policy.answerer import Answerer

    model, processor = load_vlm(str(tiny_answer_dir))
    return Answerer(model, processor, max_new_tokens=4, batch_size=4)


@pytest.fixture(scope="session")
def clip_bundle(tiny_clip_dir):
    from viarl.models.clip import load_clip

    return load_clip(str(tiny_clip_dir))
