"""Thin wrappers over `torch.distributed` that also work in a plain single process.

Everything in viarl that must agree across processes (the global REINFORCE++ whitening above
all) goes through `all_reduce_sum`, so the single-process path is the same code with the
reduction turned into a no-op, and no caller has to ask whether it runs distributed.

A backend reduces tensors only on its own device: gloo on the CPU, NCCL on the rank's GPU. The
callers compute where it suits them (advantages on the CPU), so `all_reduce_sum` moves each
tensor to `collective_device()` (what the group's backend reports) and back: under NCCL a CPU
tensor would otherwise fail at the first RL step.
"""

from __future__ import annotations

import contextlib
import datetime

import torch
import torch.distributed as dist

from viarl.errors import UserError


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


# The device type each backend reduces on; gloo and MPI (and anything else) reduce on the CPU.
BACKEND_DEVICES = {"nccl": "cuda", "xccl": "xpu", "hccl": "npu"}


def backend_device(backend: str) -> torch.device:
    """The device a process group's `backend` reduces tensors on: the rank's GPU for NCCL, else the CPU.

    `backend` is what `dist.get_backend()` reports: one name ("nccl"), or device:backend pairs
    ("cpu:gloo,cuda:nccl"), where a CPU entry means CPU tensors are fine.
    """
    pairs = [p.split(":", 1) for p in backend.lower().split(",")] if ":" in backend else [["", backend.lower()]]
    if any(dev == "cpu" for dev, _ in pairs):
        return torch.device("cpu")
    kind = BACKEND_DEVICES.get(pairs[0][1].strip(), "cpu")
    if kind == "cpu":
        return torch.device("cpu")
    module = getattr(torch, kind, None)  # torch.cuda, torch.xpu, ...: the rank's current device
    return torch.device(kind, module.current_device()) if hasattr(module, "current_device") else torch.device(kind)


def collective_device() -> torch.device:
    """Where tensors must live for the default group's collectives (the CPU without a group)."""
    if is_distributed():
        return backend_device(str(dist.get_backend()))
    return torch.device("cpu")


def all_gather_objects(obj) -> list:
    """`obj` from every process, in rank order (`[obj]` in a single process).

    For small picklable state (RNG states for a checkpoint), not for tensors on a hot path.
    """
    if not is_distributed():
        return [obj]
    out: list = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def barrier() -> None:
    """Wait until every process gets here (nothing to wait for in a single process)."""
    if is_distributed():
        dist.barrier()


def all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    """Element-wise sum of `t` over all processes; returns a new tensor, `t` is left unchanged.

    Without an initialised multi-process group this returns a copy of `t`. Every process must
    call it with a tensor of the same shape and dtype, in the same order (it is a collective).
    `t` may live anywhere: it is reduced on `collective_device()` and returned on its own device.
    """
    if not is_distributed():
        return t.detach().clone()
    out = t.detach().to(collective_device(), copy=True)
    dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out.to(t.device)


def timeout(seconds: int) -> datetime.timedelta:
    """The process group's collective timeout (`run.collective_timeout_s`)."""
    return datetime.timedelta(seconds=int(seconds))


def is_timeout(error: BaseException) -> bool:
    """True for a collective that gave up waiting (gloo's and NCCL's wording both)."""
    text = str(error).lower()
    return isinstance(error, getattr(dist, "DistBackendError", ())) or "timed out" in text or "timeout" in text


@contextlib.contextmanager
def waiting_in(stage: str, seconds: int):
    """Turn a collective that timed out inside the block into a UserError naming `stage`.

    A timeout means another process did not reach the same collective within `seconds`: it
    was still busy (a long evaluation), stuck, or dead. Only multi-process runs can time out.
    """
    try:
        yield
    except (RuntimeError, UserError) as e:
        if isinstance(e, UserError) or not is_distributed() or not is_timeout(e):
            raise
        raise UserError(f"process {rank()} waited more than {seconds} s for the others in a collective "
                        f"during stage {stage}: another process was still working, stuck or gone "
                        f"({str(e).splitlines()[0][:200]})", where="run.collective_timeout_s",
                        fix="raise run.collective_timeout_s if that stage may take longer on one process "
                            "than on the others; otherwise look for the process that failed first") from e
