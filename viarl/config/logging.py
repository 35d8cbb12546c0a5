"""`logging:` — how often a run reports metrics and sample completions."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, PositiveInt


class Logging(BaseModel):
    """Console and metrics-file reporting."""

    model_config = ConfigDict(extra="forbid")

    log_every: PositiveInt = Field(1, description="Write metrics every this many steps.")
    progress: bool = Field(True, description="Show progress bars on the console.")
    sample_every: NonNegativeInt = Field(
        0, description="Print a sample completion every this many steps (0: never)."
    )
