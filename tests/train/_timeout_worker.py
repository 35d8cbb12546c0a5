"""Worker for the collective-timeout test: rank 1 waits in a sum that rank 0 never joins.

Usage: _timeout_worker.py OUT_FILE. Rank 1 writes the UserError's message to OUT_FILE.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch
from accelerate import PartialState

from viarl import distributed
from viarl.errors import UserError


def main(out: str) -> None:
    PartialState(cpu=True, timeout=distributed.timeout(2))
    if distributed.rank() == 0:
        time.sleep(8)  # busy elsewhere: never reaches the collective in time
        return
    try:
        with distributed.waiting_in("c1-eval", 2):
            distributed.all_reduce_sum(torch.ones(2))
    except UserError as e:
        Path(out).write_text(f"{e.where}\n{e}")


if __name__ == "__main__":
    main(sys.argv[1])
