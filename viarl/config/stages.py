"""`stages:` — what a run does, in order: stages once, then a cycle repeated."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, model_validator

from viarl.config.issues import Issue, raise_issues
from viarl.config.types import StageKind


class Stages(BaseModel):
    """`before` runs once; then `cycle` runs `cycles` times. Kinds: warmup | answer_warmup | rl | sft | eval."""

    model_config = ConfigDict(extra="forbid")

    before: list[StageKind] = Field(default_factory=list, description="Stages run once before the cycles.")
    cycle: list[StageKind] = Field(
        default_factory=lambda: ["rl", "sft"], description="Stages of one cycle, in order."
    )
    cycles: NonNegativeInt = Field(2, description="How many times the cycle runs (0: only `before`).")

    @model_validator(mode="after")
    def check_cycle_non_empty(self) -> "Stages":
        if self.cycles > 0 and not self.cycle:
            raise_issues([Issue("cycle", f"cycle is empty but cycles is {self.cycles}",
                                "list the cycle's stages (e.g. [rl, sft]) or set cycles: 0")])
        return self

    def kinds(self) -> set[str]:
        """Every stage kind this run executes."""
        return set(self.before) | (set(self.cycle) if self.cycles > 0 else set())
