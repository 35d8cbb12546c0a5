"""Mid-stage checkpoints under FSDP: each process writes and reads its own shard (torch.distributed.checkpoint).

Gathering the whole fp32 weights and Adam state on one process (about 45 GB for a 3B model,
100 GB for a 7B one) would stall every other process while it writes and make each one read the
whole file back on resume. `torch.distributed.checkpoint` (DCP) instead writes one file per
process (`shards/__<rank>_0.distcp`) plus a small `.metadata`, and loads each shard straight
into its owner; it can also re-shard for another world size.

Run folders are data, never code, and stock DCP unpickles twice: its `.metadata` with plain
`pickle.load`, and every non-tensor entry (an optimiser's hyper-parameters) with
`torch.load(weights_only=False)`. So checkpoints are read here with a reader whose unpickler
builds only DCP's own metadata classes, and a planner that loads those entries with
`weights_only=True`: a shard or metadata file carrying a pickled call is refused, never run.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import torch
import torch.distributed.checkpoint as dcp
from torch.distributed.checkpoint import FileSystemReader
from torch.distributed.checkpoint._traverse import set_element
from torch.distributed.checkpoint.default_planner import DefaultLoadPlanner
from torch.distributed.checkpoint.state_dict import (
    get_model_state_dict, get_optimizer_state_dict, set_model_state_dict, set_optimizer_state_dict,
)

SHARDS = "shards"  # the DCP folder inside a `.partial` checkpoint

# Modules whose classes a DCP `.metadata` pickle may name: DCP's own dataclasses and enums, and
# the plain types they hold (torch.Size, dtypes, OrderedDict).
_METADATA_MODULES = ("torch.distributed.checkpoint.", "torch.distributed._shard.")
_METADATA_GLOBALS = {("torch", "Size"), ("collections", "OrderedDict"), ("torch.serialization", "_get_layout"),
                     ("pathlib", "PosixPath"), ("pathlib", "WindowsPath"), ("pathlib", "PurePosixPath"),
                     ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "slice")}


class UnsafeCheckpoint(Exception):
    """A checkpoint file names something other than checkpoint data (a pickled call, say)."""


class _MetadataUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        allowed = module.startswith(_METADATA_MODULES) or (module, name) in _METADATA_GLOBALS \
            or (module == "torch" and isinstance(getattr(torch, name, None), torch.dtype))
        if not allowed:
            raise UnsafeCheckpoint(f"it names {module}.{name}, which is not checkpoint metadata")
        return super().find_class(module, name)


class SafeReader(FileSystemReader):
    """DCP's file reader with a restricted unpickler for `.metadata`."""

    def read_metadata(self, *args, **kwargs):
        path = self._get_metadata_path(kwargs.get("rank"))
        with self.fs.create_stream(path, "rb") as f:
            metadata = _MetadataUnpickler(f).load()
        from torch.distributed.checkpoint.metadata import Metadata, StorageMeta

        if not isinstance(metadata, Metadata):
            raise UnsafeCheckpoint(f"{path} does not hold DCP metadata")
        if getattr(metadata, "storage_meta", None) is None:
            metadata.storage_meta = StorageMeta()
        metadata.storage_meta.load_id = self.load_id
        return metadata


class SafePlanner(DefaultLoadPlanner):
    """DCP's load planner, reading non-tensor entries with `weights_only=True`."""

    def load_bytes(self, read_item, value: io.BytesIO) -> None:
        try:
            obj = torch.load(value, weights_only=True)
        except pickle.UnpicklingError as e:
            raise UnsafeCheckpoint(f"entry {read_item.dest_index.fqn} is not plain data ({e})") from None
        # As DefaultLoadPlanner.load_bytes places it, with the safely loaded object.
        if self.flatten_state_dict:
            set_element(self.original_state_dict, self.mappings[read_item.dest_index.fqn], obj)
        else:
            self.state_dict[read_item.dest_index.fqn] = obj


def _bare(optimizer):
    return getattr(optimizer, "optimizer", optimizer)


def save_sharded(folder: Path, model, optimizer) -> None:
    """Write this process's shard of the model and optimiser state into `folder` (a collective).

    Every process passes the same `folder` (on a file system all of them see).
    """
    state = {"model": get_model_state_dict(model), "optim": get_optimizer_state_dict(model, _bare(optimizer))}
    dcp.save(state, checkpoint_id=str(folder))


def load_sharded(folder: Path, model, optimizer) -> None:
    """Load each process's shard of the model and optimiser state from `folder` (a collective).

    UnsafeCheckpoint when a file holds anything but checkpoint data; nothing is executed.
    """
    # get_optimizer_state_dict creates the optimiser state (zero moments) so DCP has tensors to load into.
    state = {"model": get_model_state_dict(model), "optim": get_optimizer_state_dict(model, _bare(optimizer))}
    dcp.load(state, storage_reader=SafeReader(str(folder)), planner=SafePlanner())
    set_model_state_dict(model, state["model"])
    set_optimizer_state_dict(model, _bare(optimizer), state["optim"])


def shard_files(folder: Path) -> list[Path]:
    """The per-process shard files of a DCP folder."""
    return sorted(Path(folder).glob("*.distcp"))
