"""`data:` — where training and evaluation questions come from (or how to synthesise them)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, model_validator

from viarl.numbers import MAX_FPS, MAX_FRAMES, MAX_VIDEOS
from viarl.config.issues import Issue, raise_issues
from viarl.config.types import DataFormat


class DataSplit(BaseModel):
    """One dataset: its layout and where it lives."""

    model_config = ConfigDict(extra="forbid")

    format: DataFormat = Field("mlvu", description="Annotation layout (see `viarl data check`).")
    path: str = Field("data/needle/train", description="Dataset root (relative to the working directory).")
    tasks: list[str] | None = Field(
        None, description="MLVU tasks to keep (e.g. [needle]); null keeps every task."
    )
    limit: PositiveInt | None = Field(None, description="Use only the first N questions; null uses all.")
    video_dir: str | None = Field(
        None, description="Folder holding the videos when not at the layout's usual place. When set, every "
        "video must lie inside it (after resolving `..` and links); an entry whose video path leads "
        "elsewhere is skipped as `video outside video_dir`."
    )


class Synthetic(BaseModel):
    """Synthetic needle videos generated on first use (MLVU layout, with a truth file)."""

    model_config = ConfigDict(extra="forbid")

    train_videos: PositiveInt = Field(64, le=MAX_VIDEOS, description="Videos generated at `data.train.path`.")
    test_videos: PositiveInt = Field(32, le=MAX_VIDEOS, description="Videos generated at `data.eval.path`.")
    frames: PositiveInt = Field(240, le=MAX_FRAMES, description="Frames per video.")
    fps: PositiveInt = Field(24, le=int(MAX_FPS), description="Frames per second of each video.")
    size: tuple[PositiveInt, PositiveInt] = Field((128, 128), description="[width, height] in pixels.")
    difficulty: float = Field(1.0, gt=0.0, description="How hard the needle is to spot: the needle lasts "
                              "about 8 % of the frames / difficulty, and clutter grows with it.")
    fixed_options: bool = Field(False, description="Offer the same four colours in the same order in every "
                                "question (an easier task for tiny CPU models).")
    balance_positions: bool = Field(True, description="Spread the needle evenly over the T candidate "
                                    "slots (T = frames.candidates) in both splits, so a pick that "
                                    "ignores the frames hits about N/T of the time.")
    seed: int = Field(0, description="Random seed of the generator (train and test use distinct streams).")


class Data(BaseModel):
    """Training and evaluation datasets."""

    model_config = ConfigDict(extra="forbid")

    train: DataSplit | None = Field(
        default_factory=lambda: DataSplit(path="data/needle/train"),
        description="Questions for warm-up, RL and SFT; null for evaluation-only recipes.",
    )
    eval: DataSplit | None = Field(
        default_factory=lambda: DataSplit(path="data/needle/test"),
        description="Held-out questions for evaluation; null when nothing is evaluated.",
    )
    synthetic: Synthetic | None = Field(
        None,
        description="When set, needle data is generated at data.train.path / data.eval.path on "
        "first use; null uses existing data.",
    )
    strict: bool = Field(
        False, description="Stop at the first bad annotation instead of skipping and counting it."
    )

    @model_validator(mode="after")
    def check_synthetic_layout(self) -> "Data":
        if self.synthetic is None:
            return self
        issues = [
            Issue(f"{name}.format", f"synthetic needle data is MLVU layout, not `{split.format}`",
                  "set format: mlvu, or set data.synthetic: null")
            for name, split in (("train", self.train), ("eval", self.eval))
            if split is not None and split.format != "mlvu"
        ]
        raise_issues(issues)
        return self
