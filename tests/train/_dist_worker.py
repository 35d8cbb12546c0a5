"""Worker for tests/train/test_distributed.py, started twice by `accelerate launch`.

Usage: _dist_worker.py CASES.pt OUT_DIR. Each rank takes its contiguous share of every case's
rows, computes REINFORCE++ advantages (whose whitening all-reduces over both ranks) and saves
its share to OUT_DIR/rank<r>.pt for the test to stitch together.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import torch
import torch.distributed as dist
from accelerate import PartialState

from viarl.atomic import write_bytes
from viarl import distributed
from viarl.train.reinforce_pp import compute_advantages


def main(cases_path: str, out_dir: str) -> None:
    PartialState(cpu=True)  # gloo process group from the launcher's environment
    rank, world = distributed.rank(), distributed.world_size()
    if not distributed.is_distributed():
        raise SystemExit(f"rank {rank}: expected a multi-process group, got world size {world}")
    results = {}
    for name, case in torch.load(cases_path).items():
        share = case["rewards"].shape[0] // world
        rows = slice(rank * share, (rank + 1) * share)
        out = compute_advantages(
            case["rewards"][rows], case["logp_old"][rows], case["logp_ref"][rows], case["mask"][rows],
            **case["kwargs"],
        )
        results[name] = {"advantages": out.advantages, "returns": out.returns}
    buffer = io.BytesIO()
    torch.save({"rank": rank, "world": world, "results": results}, buffer)
    write_bytes(Path(out_dir) / f"rank{rank}.pt", buffer.getvalue())
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
