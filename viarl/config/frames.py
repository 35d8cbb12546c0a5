"""`frames:` — how many candidate frames the selector sees, how many it picks, and their sizes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, model_validator

from viarl.numbers import MAX_FRAMES, MAX_SIDE
from viarl.config.issues import Issue, raise_issues
from viarl.selection import pool_problem, select_problem


class Prefilter(BaseModel):
    """CLIP pre-filtering: the selector's T candidates are the best of M uniform frames."""

    model_config = ConfigDict(extra="forbid")

    frames: PositiveInt = Field(
        32, le=MAX_FRAMES, description="M: frames sampled uniformly over the video and scored with `models.clip` "
        "against the question; the best T (`frames.candidates`) are kept in time order.",
    )
    batch_size: PositiveInt = Field(32, description="Frames per CLIP forward pass while scoring.")


class Frames(BaseModel):
    """Candidate frames (T, small, indexed) and selected frames (N, large)."""

    model_config = ConfigDict(extra="forbid")

    candidates: PositiveInt = Field(
        128, le=MAX_FRAMES, description="T: frames sampled uniformly over the whole video and shown to the selector."
    )
    select: PositiveInt = Field(8, le=MAX_FRAMES, description="N: frames the selector picks for the answer model.")
    selector_size: int = Field(
        112, ge=28, le=MAX_SIDE, description="Long side in pixels of each candidate frame the selector sees."
    )
    answer_size: int = Field(
        896, ge=28, le=MAX_SIDE, description="Long side in pixels (at most) of each frame the answer model sees."
    )
    index_text: Literal["before", "after", "none"] = Field(
        "before",
        description='Also write each selector frame\'s index as text: "before" ("Frame i:" then the frame), '
        '"after" (the frame, then "(frame i)": small models tie a label to an image they have already '
        'seen far sooner), or "none". The index is drawn on the frame either way.',
    )
    question_position: Literal["after", "before"] = Field(
        "after",
        description='Where the selector\'s user message puts the question: "after" the frames (the '
        'paper\'s layout) or "before" them. Before, the question\'s length does not move the frames '
        'relative to the answer, and each frame\'s tokens can read the question: small models then '
        'carry over to wordings they were not trained on (docs/needle-cpu-findings.md).',
    )
    memory_mib: PositiveInt = Field(
        2048, le=1_048_576, description="Candidate frames each process keeps in memory (MiB): the most recently "
        "used videos' selector views and the answer frames their requests decoded (filling at most 95 % of it, "
        "the rest left to what the process allocates around them). Older ones are read back from `cache_dir`. At the paper's settings one video takes about 3 MB plus 1.4 MB per answer frame "
        "decoded; a step needs prompts_per_step videos at once.")
    cache_dir: str = Field(".cache/frames", description="Folder for decoded, resized frame caches.")
    prefilter: Prefilter | None = Field(
        None, description="CLIP pre-filtering of the candidates (training and evaluation); null: the "
        "T candidates are spread uniformly. Turn on with e.g. `frames.prefilter.frames=32`.",
    )

    @model_validator(mode="after")
    def check_select_fits(self) -> "Frames":
        problem = select_problem(self.select, self.candidates)
        if problem:
            raise_issues([Issue("select", problem, "pick at most as many frames as there are candidates")])
        return self

    @model_validator(mode="after")
    def check_prefilter_pool(self) -> "Frames":
        problem = pool_problem(self.prefilter.frames, self.candidates) if self.prefilter else None
        if problem:
            raise_issues([Issue("prefilter.frames", problem,
                                f"use more pool frames than candidates (e.g. {4 * self.candidates}), or prefilter: null")])
        return self
