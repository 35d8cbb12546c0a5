"""Stop training at the first inf or nan, before it reaches the weights or a checkpoint.

A non-finite reward, loss or gradient norm would poison the weights at one step and crash a
later one far from the cause (e.g. inside `torch.multinomial`). Each is checked where it appears:
the reward by the scorer (`NonFiniteScore`), the loss before `backward`, the gradient norm before
`optimizer.step`. The stage loop turns the first one into a UserError naming the stage, step and
sample; nothing of that step is logged or saved, so the last checkpoint stays the one to resume.
"""

from __future__ import annotations

import math

from viarl.errors import UserError
from viarl.rewards.columns import NonFiniteScore


class NonFinite(Exception):
    """`what` (e.g. "loss", "gradient norm") came out `value`, which is inf or nan."""

    def __init__(self, what: str, value: float):
        self.what, self.value = what, value
        super().__init__(f"{what} is {value}")


def check_finite(what: str, value: float) -> float:
    """`value` if it is finite, else NonFinite."""
    if not math.isfinite(value):
        raise NonFinite(what, value)
    return value


def poisoned_step(stage_id: str, step: int, error: Exception, sample: str | None, resume_hint: str) -> UserError:
    """The user-facing error for a step stopped by a non-finite reward, loss or gradient norm."""
    what = error.message if isinstance(error, NonFiniteScore) else str(error)
    at = f" (sample `{sample}`)" if sample is not None else ""
    return UserError(f"training stopped at step {step} of stage {stage_id}{at}: {what}; nothing of this "
                     "step was saved", where=stage_id,
                     fix="lower the learning rate or fix the rule's arithmetic, then " + resume_hint)
