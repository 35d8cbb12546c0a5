"""`evaluation:` — which selectors are compared on `data.eval`, and when."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, field_validator

from viarl.config.types import SelectorKind, distinct
from viarl.numbers import MAX_FRAMES


class EvalPrefilter(BaseModel):
    """Extra evaluation rows with CLIP pre-filtering, to measure what the pre-filter adds."""

    model_config = ConfigDict(extra="forbid")

    frames: PositiveInt = Field(32, le=MAX_FRAMES, description="M: pool frames scored with `models.clip`; the best "
                                "`frames.candidates` are kept in time order.")
    selectors: list[SelectorKind] = Field(
        default_factory=lambda: ["trained", "uniform"], min_length=1,
        description="Selectors evaluated again on pre-filtered candidates (rows `<selector>+prefilter`).",
    )
    batch_size: PositiveInt = Field(32, description="Frames per CLIP forward pass while scoring.")

    @field_validator("selectors")
    @classmethod
    def check_selectors_distinct(cls, value: list[str]) -> list[str]:
        return distinct(value, "selector")


class Evaluation(BaseModel):
    """Side-by-side accuracy of frame selectors with the same answer model."""

    model_config = ConfigDict(extra="forbid")

    limit: PositiveInt | None = Field(None, description="Evaluate only the first N questions; null: all.")
    after_each_cycle: bool = Field(True, description="Evaluate after every cycle (as well as `eval` stages).")
    selectors: list[SelectorKind] = Field(
        default_factory=lambda: ["trained", "uniform", "clip"],
        min_length=1,
        description="Selectors compared: the trained selector, uniform spacing, CLIP similarity.",
    )
    clip_diversity: float = Field(
        0.5, ge=0.0, le=1.0, description="CLIP selector: 0 = top similarity only, 1 = spread over time."
    )
    answer_batch_size: PositiveInt = Field(8, description="Questions per answer-model forward pass.")
    prefilter: EvalPrefilter | None = Field(
        None, description="`viarl run`'s evaluations also run some selectors with CLIP pre-filtering "
        "(rows named `<selector>+prefilter`) beside the plain rows; null: no extra rows. Ignored while "
        "`frames.prefilter` is on, since every row is then pre-filtered already; `viarl eval` "
        "pre-filters every row with `--prefilter M` instead.",
    )

    @field_validator("selectors")
    @classmethod
    def check_selectors_distinct(cls, value: list[str]) -> list[str]:
        return distinct(value, "selector")
