"""`data:` — where training and evaluation questions come from (or how to synthesise them)."""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, field_validator, model_validator

from viarl.numbers import MAX_FPS, MAX_FRAMES, MAX_VIDEOS
from viarl.config.issues import Issue, raise_issues
from viarl.config.types import DataFormat
from viarl.synth.mix import BACKGROUNDS, COLOURS, DISTRACTORS, SHAPES, WORDINGS, NeedleMix


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


_Count = Annotated[int, Field(gt=0, le=MAX_FRAMES)]
_Rate = Annotated[int, Field(gt=0, le=int(MAX_FPS))]
FrameCount = Union[_Count, tuple[_Count, _Count]]  # a number, or [lo, hi] drawn per video
FrameRate = Union[_Rate, tuple[_Rate, _Rate]]


class SyntheticLook(BaseModel):
    """What the needle videos' look varies over (each video draws each setting uniformly)."""

    model_config = ConfigDict(extra="forbid")

    backgrounds: list[str] = Field(list(BACKGROUNDS), description=f"Background kinds: any of {', '.join(BACKGROUNDS)}.")
    shapes: list[str] = Field(list(SHAPES), description=f"Needle shapes: any of {', '.join(SHAPES)} "
                              "(a circle may be called a disc, a square a box).")
    colours: list[str] = Field(list(COLOURS), description=f"Answer colours (options are 4 of them): any of "
                               f"{', '.join(COLOURS)}.")
    needle_size: tuple[float, float] = Field((0.30, 0.50), description="[lo, hi] needle side as a fraction "
                                             "of the frame's short side.")
    distractors: list[str] = Field(list(DISTRACTORS), description="Distractor kinds: colour (the question's "
                                   "shape, small, in colours that are not options, away from the needle), "
                                   "grey (grey shapes moving in every frame); [] for none.")
    wordings: list[int] = Field(list(range(len(WORDINGS))), description="Question wordings (numbers into "
                                f"viarl.synth.mix.WORDINGS, 0-{len(WORDINGS) - 1}).")
    frames: FrameCount = Field(240, description="Frames per video: a number, or [lo, hi] drawn per video.")
    fps: FrameRate = Field(24, description="Frames per second: a number, or [lo, hi] drawn per video.")

    @model_validator(mode="after")
    def check_look(self) -> "SyntheticLook":
        raise_issues([Issue(name, what, fix) for name, what, fix in self.mix().problems()])
        return self

    def mix(self, fixed_options: bool = False) -> NeedleMix:
        """The generator's NeedleMix for this look."""
        return NeedleMix(backgrounds=tuple(self.backgrounds), shapes=tuple(self.shapes), colours=tuple(self.colours),
                         needle_size=tuple(self.needle_size), distractors=tuple(self.distractors),
                         wordings=tuple(self.wordings), shuffle_options=not fixed_options)


class Shift(BaseModel):
    """The shifted split's look: each field set here replaces the training look's (null keeps it)."""

    model_config = ConfigDict(extra="forbid")

    backgrounds: list[str] | None = Field(None, description="Background kinds of the shifted split.")
    shapes: list[str] | None = Field(None, description="Needle shapes of the shifted split.")
    colours: list[str] | None = Field(None, description="Answer colours of the shifted split.")
    needle_size: tuple[float, float] | None = Field(None, description="Needle size range of the shifted split.")
    distractors: list[str] | None = Field(None, description="Distractor kinds of the shifted split.")
    wordings: list[int] | None = Field(None, description="Question wordings of the shifted split.")
    frames: FrameCount | None = Field(None, description="Frames per video of the shifted split.")
    fps: FrameRate | None = Field(None, description="Frames per second of the shifted split.")


class Synthetic(SyntheticLook):
    """Synthetic needle videos generated on first use (MLVU layout, with a truth file).

    `data.train` gets the generator's train stream; `data.eval` its `eval_split` stream; the
    folders of `data.final` get the stream of their name (`test`, or `shifted`: the look changed
    by `shifted`). Every split's videos are drawn apart from the others'.
    """

    train_videos: PositiveInt = Field(64, le=MAX_VIDEOS, description="Videos generated at `data.train.path`.")
    test_videos: PositiveInt = Field(32, le=MAX_VIDEOS, description="Videos generated at `data.eval.path`.")
    final_videos: PositiveInt = Field(200, le=MAX_VIDEOS, description="Videos generated for each split of `data.final`.")
    eval_split: Literal["test", "val"] = Field(
        "test", description="The generator stream `data.eval` is written from: `val` (a validation split "
        "for decisions) leaves the `test` stream to `data.final.test`, scored once at the end.")
    size: tuple[PositiveInt, PositiveInt] = Field((128, 128), description="[width, height] in pixels.")
    difficulty: float = Field(1.0, gt=0.0, description="How hard the needle is to spot: the needle lasts "
                              "about 8 % of the frames / difficulty, and clutter grows with it.")
    fixed_options: bool = Field(False, description="Offer the same four colours in the same order in every "
                                "question (an easier task: the answer model need not read the options). "
                                "Off: options are 4 of `colours`, shuffled per question.")
    balance_positions: bool = Field(True, description="Spread the needle evenly over the T candidate "
                                    "slots (T = frames.candidates) in every split, so a pick that "
                                    "ignores the frames hits about N/T of the time.")
    seed: int = Field(0, description="Random seed of the generator (every split uses its own stream).")
    shifted: Shift = Field(default_factory=Shift, description="How `data.final.shifted` differs from training.")

    def shifted_look(self) -> SyntheticLook:
        """The look of the shifted split: this look with `shifted`'s fields replaced."""
        base = self.model_dump(include=set(SyntheticLook.model_fields))
        base.update({k: v for k, v in self.shifted.model_dump().items() if v is not None})
        return SyntheticLook(**base)


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
    final: dict[str, DataSplit | None] = Field(
        default_factory=dict,
        description="Splits evaluated once, after the last cycle (e.g. {test: ..., shifted: ...}), beside "
        "`data.eval`, which every cycle's evaluation reads for decisions; a split set to null is dropped "
        "(`data.final.shifted=null`).",
    )
    synthetic: Synthetic | None = Field(
        None,
        description="When set, needle data is generated at data.train.path / data.eval.path on "
        "first use; null uses existing data.",
    )
    strict: bool = Field(
        False, description="Stop at the first bad annotation instead of skipping and counting it."
    )

    @field_validator("final")
    @classmethod
    def check_final(cls, final: dict) -> dict:
        return {k: v for k, v in final.items() if v is not None}

    @model_validator(mode="after")
    def check_synthetic_layout(self) -> "Data":
        if self.synthetic is None:
            return self
        issues = [
            Issue(f"{name}.format", f"synthetic needle data is MLVU layout, not `{split.format}`",
                  "set format: mlvu, or set data.synthetic: null")
            for name, split in (("train", self.train), ("eval", self.eval),
                                *((f"final.{k}", v) for k, v in self.final.items()))
            if split is not None and split.format != "mlvu"
        ]
        issues += [Issue(f"final.{k}", f"the generator has no `{k}` split", "name the final splits test or shifted")
                   for k in self.final if k not in ("test", "shifted")]
        raise_issues(issues)
        return self
