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


def first_non_finite(state) -> str | None:
    """The name of the first floating-point tensor of the state dict `state` that holds inf or nan."""
    import torch

    for name, tensor in state.items():
        local = tensor.to_local() if hasattr(tensor, "to_local") else tensor  # FSDP: this process's shard
        if torch.is_tensor(local) and local.is_floating_point() and not bool(torch.isfinite(local).all()):
            return name
    return None


def require_finite_weights(state, what: str, where: str) -> None:
    """UserError before a save of weights holding inf or nan: a checkpoint of them is worthless and
    would replace a good one. `what` names them ("the selector after stage pre0-warmup")."""
    bad = first_non_finite(state)
    if bad is not None:
        raise UserError(f"{what} hold inf or nan (first in `{bad}`); nothing was saved", where=where,
                        fix="lower the learning rate (or the gradient clip), then resume from the last checkpoint "
                            "or start again")
