"""Which sharding an accelerate config launches (DDP, FSDP full shard, FSDP with CPU offload)."""

from __future__ import annotations

from pathlib import Path

import yaml

from viarl.errors import UserError
from viarl.user_files import STATE_BYTES, read_user_text

# The GPU config shipped for each sharding (what `viarl plan` tells a user to launch with).
SHIPPED = {"ddp": "configs/accelerate/ddp_gpu.yaml", "fsdp": "configs/accelerate/fsdp_gpu.yaml",
           "offload": "configs/accelerate/fsdp_offload_gpu.yaml"}


def sharding_of_config(path: str | Path) -> str:
    """"ddp", "fsdp" or "offload" for an accelerate config file; exit 2 for anything unusable."""
    path = Path(path)
    try:
        data = yaml.safe_load(read_user_text(path, "accelerate config", STATE_BYTES,
                                             "pass one of the files in configs/accelerate/"))
    except (OSError, yaml.YAMLError) as e:
        raise UserError(f"cannot read accelerate config {path}: {e}", where=str(path),
                        fix="pass one of the files in configs/accelerate/") from None
    kind = data.get("distributed_type") if isinstance(data, dict) else None
    if kind in ("MULTI_GPU", "NO", "MULTI_CPU"):
        return "ddp"
    if kind == "FSDP":
        return "offload" if (data.get("fsdp_config") or {}).get("fsdp_offload_params") else "fsdp"
    raise UserError(f"{path} launches distributed_type {kind!r}, which viarl does not plan for",
                    where=f"{path}: distributed_type", fix="use MULTI_GPU (DDP) or FSDP, as in configs/accelerate/")
