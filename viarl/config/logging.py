"""`logging:` — how often a run reports metrics and sample completions, and to which trackers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, PositiveInt, field_validator

from viarl.config.preflight import missing_tracker_package
from viarl.config.types import Tracker, distinct


class Logging(BaseModel):
    """Console and metrics-file reporting."""

    model_config = ConfigDict(extra="forbid")

    log_every: PositiveInt = Field(1, description="Write metrics every this many steps.")
    progress: bool = Field(True, description="Show progress bars on the console.")
    sample_every: NonNegativeInt = Field(
        0, description="Print a sample completion every this many steps (0: never)."
    )
    report_to: list[Tracker] = Field(
        default_factory=list,
        description="Experiment trackers (through accelerate) that receive every metrics.jsonl value "
        "under the same name, and the evaluation table as `eval/<selector>/<metric>`: "
        "`tensorboard`, `wandb` (offline unless WANDB_API_KEY or WANDB_MODE is set), `mlflow`. "
        "Files go to `<output_dir>/trackers/`. Empty: metrics.jsonl only.",
    )

    @field_validator("report_to", mode="before")
    @classmethod
    def check_report_to_list(cls, value: Any) -> Any:
        # `logging.report_to=tensorboard` on the command line means a list of one.
        return [value] if isinstance(value, str) else value

    @field_validator("report_to")
    @classmethod
    def check_report_to(cls, value: list[str]) -> list[str]:
        for name in distinct(value, "tracker"):
            package = missing_tracker_package(name)
            if package:
                raise ValueError(f"tracker `{name}` needs the `{package}` package, which is not installed; "
                                 f"fix: `pip install {package}`"
                                 + (" (or `pip install viarl[tracking]`)" if name == "tensorboard" else "")
                                 + f", or remove `{name}` from logging.report_to")
        return value
