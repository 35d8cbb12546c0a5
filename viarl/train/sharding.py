"""FSDP under accelerate: turning it on for CPU processes, and whole weights where a shard is not enough.

Under FSDP each process holds only a shard of every weight. Training goes through the wrapped
model and needs nothing more, but three things need the whole weights:

- generation: the k rollouts of a prompt stop after a different number of tokens on each
  process, and evaluation runs on the main process alone, so a sharded forward (one all-gather
  per layer, a collective) would leave the processes waiting for each other forever;
- the model a finished stage hands to the next stages (and `viarl eval`, through its checkpoint);
- checkpoints, which must load with the ordinary loader.

So a stage under FSDP keeps a plain twin of its model (same architecture, whole weights in the
compute dtype, no wrapper), built empty on the meta device rather than copied, and refreshes it
from the shards one parameter at a time when it needs whole weights. Mid-stage checkpoints never
gather: each process writes its own shard (`sharded_checkpoint`). Gathering is a collective:
every process must call these functions at the same point of a step, even the ones that then
throw the result away. Without FSDP none of this runs and stages use their model as before.
"""

from __future__ import annotations

import os
import warnings

import torch

from viarl import distributed
from viarl.errors import UserError
from viarl.train.precision import copy_weights, fsdp_policy

_CONFIG_FIX = "use the config in configs/accelerate/ (fsdp_version: 2, fsdp_cpu_ram_efficient_loading: false)"


def fsdp_requested() -> bool:
    """True when `accelerate launch` was told to use FSDP (a config with distributed_type: FSDP)."""
    return os.environ.get("ACCELERATE_USE_FSDP", "false").lower() == "true"


def is_sharded(accelerator) -> bool:
    """True when `accelerator.prepare` wraps models in FSDP (their weights are then sharded)."""
    from accelerate.utils import DistributedType

    return accelerator.distributed_type == DistributedType.FSDP


def _env_flag(name: str, default: str) -> bool:
    return os.environ.get(name, default).lower() in ("1", "true", "yes")


def make_accelerator(precision: str, cpu: bool, timeout_s: int = 3600, **options):
    """The run's Accelerator, with FSDP switched on where the launcher asked for it.

    `options` go to `Accelerator` as they are (the experiment trackers, see `trackers`).
    `timeout_s` is the process group's collective timeout (`run.collective_timeout_s`).

    `precision` is the recipe's `run.precision`. accelerate's own mixed precision stays off (viarl
    autocasts its forward passes itself, see `precision`); under FSDP it becomes the plugin's
    MixedPrecisionPolicy, on CPU and GPU processes alike.

    accelerate 1.15 turns FSDP on only for accelerator devices; with `cpu=True` it sets up plain
    multi-CPU data parallelism and `prepare` silently wraps models in DDP instead. PyTorch's FSDP2
    (`fully_shard`) runs on CPU tensors over gloo, so there we promote the state to FSDP with the
    plugin accelerate reads from the launcher's environment (the accelerate config's fsdp_*).
    FSDP1 cannot run there: it needs a GPU for `sync_module_states` and its compute-device
    check rejects accelerate's `cpu:0`. Bad FSDP settings are refused before any model loads.
    """
    from accelerate import Accelerator
    from accelerate.state import PartialState
    from accelerate.utils import DistributedType, FullyShardedDataParallelPlugin, InitProcessGroupKwargs

    if fsdp_requested():
        if cpu and os.environ.get("FSDP_VERSION", "1") != "2":
            raise UserError("FSDP on CPU processes needs FSDP2", where="accelerate config: fsdp_version",
                            fix="set fsdp_version: 2, or " + _CONFIG_FIX)
        if _env_flag("FSDP_CPU_RAM_EFFICIENT_LOADING", "false"):
            # transformers would then load real weights on rank 0 only (empty tensors elsewhere),
            # but the RL reference model and the generation twin are plain copies needing them all.
            raise UserError("viarl needs every process to load the whole model",
                            where="accelerate config: fsdp_cpu_ram_efficient_loading",
                            fix="set fsdp_cpu_ram_efficient_loading: false, or " + _CONFIG_FIX)
    acc = Accelerator(mixed_precision="no", cpu=cpu, **options,
                      kwargs_handlers=[InitProcessGroupKwargs(timeout=distributed.timeout(timeout_s))])
    if fsdp_requested() and acc.distributed_type == DistributedType.MULTI_CPU:
        acc.state.fsdp_plugin = FullyShardedDataParallelPlugin()
        acc.state.distributed_type = DistributedType.FSDP
        PartialState._shared_state["distributed_type"] = DistributedType.FSDP  # accelerate keeps a copy there
    if is_sharded(acc):
        # Set here rather than through accelerate's mixed_precision, which would also upcast and
        # autocast behind viarl's back; the launcher config's mixed_precision is overridden.
        acc.state.fsdp_plugin.mixed_precision_policy = fsdp_policy(precision)
        # FSDP2 warns that the wrapped model returns a view (the logits, sliced to the kept
        # positions), since changing it in place would skip a gradient hook. viarl never changes
        # model outputs in place (`ban` clones first), so in run logs it is only noise.
        warnings.filterwarnings("ignore", message=r"FSDP2-wrapped module .* returned a view tensor")
    return acc


@torch.no_grad()
def refresh(plain, model):
    """Copy the current whole weights of the FSDP `model` into its plain twin; returns the twin.

    One parameter at a time (`precision.copy_weights`): the transient is one gathered weight,
    never a second whole state dict. Call it on every process at the same point (it gathers).
    """
    copy_weights(plain, model)
    return plain


def scalar(value) -> float:
    """A Python float from a tensor that may be a DTensor (FSDP2's gradient norm is one)."""
    if hasattr(value, "full_tensor"):
        value = value.full_tensor()
    return float(value)
