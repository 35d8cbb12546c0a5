"""The precision contract: fp32 master weights, a lower compute dtype, checkpoints in their own dtype.

- Trained models always hold float32 weights (the master copy) and so float32 AdamW state. At the
  paper's lr of 4e-7 an update is far below bfloat16's resolution (8 bits of mantissa): AdamW
  stepping bf16 weights directly rounds almost every update away.
- `run.precision` is only the dtype the forward passes compute in: `torch.autocast` around them
  (single process and DDP), or FSDP2's `MixedPrecisionPolicy` (bf16 all-gathers and compute,
  float32 gradient reduction) under FSDP.
- Copies that never train (the frozen RL reference) may live in the compute dtype.
- `models.<role>.dtype` is the dtype a finished stage's checkpoint is written in.

viarl does the casting itself rather than through accelerate's `mixed_precision`, which is fixed
once per process and would also autocast the plain generation twin only by accident.
"""

from __future__ import annotations

import contextlib
import copy

import torch

COMPUTE_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
MASTER_DTYPE = "float32"  # what a trained role is loaded as: fp32 master weights
TRAINED_BY = {"selector": {"rl", "warmup"}, "answer": {"sft", "answer_warmup"}}  # role -> stage kinds


def load_dtype(role: str, saved_dtype: str, stage_kinds: set[str]) -> str:
    """The dtype to load `role` in: fp32 masters when a stage of the run trains it; otherwise
    (evaluation-only runs) it only ever runs forward, so its checkpoint dtype is enough."""
    return MASTER_DTYPE if TRAINED_BY[role] & stage_kinds else saved_dtype


def compute_dtype(precision: str) -> torch.dtype:
    """The dtype the forward passes run in for `run.precision` (fp32, bf16 or fp16)."""
    return COMPUTE_DTYPES[precision]


def autocast(precision: str, device: torch.device | str):
    """A context that runs the forward passes inside it in the compute dtype (no-op for fp32).

    Only forwards go inside: the backward then follows the dtypes autocast chose, as PyTorch
    recommends. Parameters and their gradients stay float32.
    """
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=compute_dtype(precision))


def fsdp_policy(precision: str):
    """FSDP2's MixedPrecisionPolicy for `run.precision`, or None for fp32.

    Parameters are all-gathered and used in the compute dtype; gradients are reduced in float32
    so that summing the shards' contributions loses nothing before the fp32 optimiser step.
    """
    if precision == "fp32":
        return None
    from torch.distributed.fsdp import MixedPrecisionPolicy

    return MixedPrecisionPolicy(param_dtype=compute_dtype(precision), reduce_dtype=torch.float32)


def frozen_copy(model, precision: str):
    """An inference-only copy of `model` (no gradients, eval mode) in the compute dtype."""
    return copy.deepcopy(model).eval().requires_grad_(False).to(compute_dtype(precision))


def cast_state(state: dict[str, torch.Tensor], dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """`state` with floating tensors cast to `dtype`; tied tensors (one storage) stay tied."""
    out: dict[str, torch.Tensor] = {}
    done: dict[tuple, torch.Tensor] = {}
    for name, t in state.items():
        if not t.is_floating_point() or t.dtype == dtype:
            out[name] = t
            continue
        key = (t.data_ptr(), t.shape, t.stride())
        if key not in done:
            done[key] = t.to(dtype)
        out[name] = done[key]
    return out
