"""Lazily computed inputs (`needs prediction`): the answer model's prediction and its length.

Where the `needs` condition is false the rules see a placeholder ("" or 0) whatever the batch
holds, so the total cannot depend on an answer nobody asked for; where it is true the value
must be present. The compiler and the interpreter both fill columns here.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from viarl.rewards.builtins import LAZY_INPUTS
from viarl.rewards.columns import BatchError, convert_column, missing

# What a lazy input reads as where it was not asked for, by type.
PLACEHOLDER = {"str": "", "int": 0}


def lazy_names(needs: dict, used: set[str]) -> dict[str, list[str]]:
    """Each `needs` a checked program declares -> the lazy inputs it provides that are read."""
    return {need: [name for name in LAZY_INPUTS[need] if name in used] for need in needs}


def lazy_column(name: str, kind: str, raw: Any, mask: Sequence[bool], offset: int = 0) -> Any:
    """Column `name` (type `kind`) where `mask` holds, the placeholder elsewhere.

    `raw` is the batch's column or None when absent; `offset` is the sample number of the
    first entry (the interpreter passes one sample at a time), so errors name the right one.
    """
    if raw is None:
        if any(mask):
            raise missing(name)
        raw = [None] * len(mask)
    values = raw.tolist() if isinstance(raw, np.ndarray) else list(raw)
    filled = []
    for i, (need, v) in enumerate(zip(mask, values)):
        if need and v is None:
            raise BatchError(f"`{name}` is needed here but missing", sample=offset + i, column=name,
                             fix=f"compute `{name}` wherever prediction_needed() is true")
        filled.append(v if need else PLACEHOLDER[kind])
    try:
        return convert_column(name, kind, filled)
    except BatchError as e:
        if e.sample is None or not offset:
            raise
        raise BatchError(e.message, sample=offset + e.sample, column=name, fix=e.fix) from None
