"""Thin wrappers over `torch.distributed` that also work in a plain single process.

Everything in viarl that must agree across processes (the global REINFORCE++ whitening above
all) goes through `all_reduce_sum`, so the single-process path is the same code with the
reduction turned into a no-op, and no caller has to ask whether it runs distributed.
"""

from __future__ import annotations

import torch
import torch.distributed as dist


def is_distributed() -> bool:
    """True when a default process group exists with more than one process.

    A group of size 1 counts as not distributed: reductions over it are identities anyway.
    """
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def world_size() -> int:
    """Number of processes in the default group (1 without a group)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return 1


def rank() -> int:
    """This process's rank in the default group (0 without a group)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    return 0


def all_gather_objects(obj) -> list:
    """`obj` from every process, in rank order (`[obj]` in a single process).

    For small picklable state (RNG states for a checkpoint), not for tensors on a hot path.
    """
    if not is_distributed():
        return [obj]
    out: list = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    """Element-wise sum of `t` over all processes; returns a new tensor, `t` is left unchanged.

    Without an initialised multi-process group this returns a copy of `t`. Every process must
    call it with a tensor of the same shape and dtype, in the same order (it is a collective).
    The tensor must live where the backend expects it (CPU for gloo, the rank's GPU for NCCL).
    """
    out = t.detach().clone()
    if is_distributed():
        dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out
