"""The precision contract: fp32 master weights, a lower compute dtype, checkpoints in their own dtype.

- Trained models always hold float32 weights (the master copy) and so float32 AdamW state. At the
  paper's lr of 4e-7 an update is far below bfloat16's resolution (8 bits of mantissa): AdamW
  stepping bf16 weights directly rounds almost every update away.
- `run.precision` is only the dtype the forward passes compute in: `torch.autocast` around them
  (single process and DDP), or FSDP2's `MixedPrecisionPolicy` (bf16 all-gathers and compute,
  float32 gradient reduction) under FSDP.
- Copies that never train (the frozen RL reference, the FSDP generation twin) live in the compute
  dtype, built one parameter at a time (`inference_copy`): never a second whole fp32 copy, and
  no per-forward recast (autocast caches casts only for weights that require grad).
- A role the current stage does not train only runs forward, so it is held in the compute dtype
  for that stage (`hold_for_inference`); a stage that trains it starts by upcasting it to fp32
  masters (`train_in_fp32`). Between stages a role thus keeps the compute-dtype values, which is
  what a resume from its checkpoint (saved in `models.<role>.dtype`) starts from as well.
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


def hold_for_inference(model, precision: str) -> None:
    """Cast `model` in place to the compute dtype: it only runs forward in this stage."""
    model.requires_grad_(False)
    model.to(compute_dtype(precision))


def train_in_fp32(model) -> None:
    """Cast `model` in place to float32 master weights before a stage trains it."""
    model.to(torch.float32)


def empty_copy(model, dtype: torch.dtype, device=None):
    """The architecture of `model` with uninitialised weights in `dtype` (buffers copied), built
    on the meta device: no second copy of the weights is ever made. Fill it with `copy_weights`."""
    with torch.device("meta"):
        twin = type(model)(copy.deepcopy(model.config))
    device = device or next(model.parameters()).device
    twin.to_empty(device=device)
    cast: dict[int, torch.nn.Parameter] = {}  # by identity: tied weights stay one tensor
    for module in twin.modules():
        for name, p in list(module._parameters.items()):
            if p is not None and p.is_floating_point() and p.dtype != dtype:
                if id(p) not in cast:
                    cast[id(p)] = torch.nn.Parameter(p.to(dtype), requires_grad=False)
                module._parameters[name] = cast[id(p)]
    source = dict(model.named_buffers())
    for name, buf in twin.named_buffers():  # rotary frequencies and the like: computed at init, not saved
        if name in source:
            buf.copy_(source[name])
    if getattr(model, "generation_config", None) is not None:
        twin.generation_config = copy.deepcopy(model.generation_config)
    return twin.eval().requires_grad_(False)


@torch.no_grad()
def copy_weights(target, source) -> None:
    """Copy every parameter of `source` into `target` (same architecture), one at a time.

    A sharded parameter (FSDP2's DTensor) is gathered whole, copied and dropped before the next
    one, so the transient is one parameter, not a whole state dict. Under FSDP this is a
    collective: every process must call it at the same point.
    """
    targets = dict(target.named_parameters(remove_duplicate=False))
    written: set[int] = set()
    for name, p in source.named_parameters(remove_duplicate=False):
        t = targets.get(name)
        if t is None:
            raise RuntimeError(f"{name} of the trained model has no place in its copy")
        if id(t) in written:  # tied in the copy too: written through its other name
            continue
        full = p.full_tensor() if hasattr(p, "full_tensor") else p
        t.copy_(full)
        written.add(id(t))
        del full
    missing = [n for n, t in targets.items() if id(t) not in written]
    if missing:
        raise RuntimeError(f"the copy has weights the trained model does not: {', '.join(missing)}")


def inference_copy(model, precision: str):
    """An inference-only copy of `model` (no gradients, eval mode) in the compute dtype."""
    twin = empty_copy(model, compute_dtype(precision))
    copy_weights(twin, model)
    return twin


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
