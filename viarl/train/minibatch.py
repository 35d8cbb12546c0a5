"""Splitting one rollout into optimiser steps, micro-batches and per-prompt pieces.

A rollout holds P prompts with k sampled completions each, laid out prompt-major (row i·k + j
is sample j of prompt i). `rl.minibatch_size` rows make one micro-batch (one forward and
backward); `rl.grad_accum` micro-batches make one optimiser step. A micro-batch can start or end
inside a prompt's k rows, so it is cut into pieces of one prompt each: the log-prob pass runs
per prompt, sharing that prompt's prefill among its rows.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Piece:
    """Rows `rows` (a slice of 0..k-1) of the samples of prompt `prompt`."""

    prompt: int
    rows: slice

    def global_rows(self, k: int) -> slice:
        """The same rows in the rollout's [P·k, L] layout."""
        return slice(self.prompt * k + self.rows.start, self.prompt * k + self.rows.stop)


def micro_batches(prompts: int, k: int, size: int | None) -> list[list[Piece]]:
    """The rollout's rows, in order, in micro-batches of `size` rows (None: one of all rows).

    Each micro-batch is a list of per-prompt pieces. With `size` a multiple of k (the default
    whole rollout included) every piece is a whole prompt, exactly as a loop over prompts.
    """
    total = prompts * k
    size = total if size is None else size
    out = []
    for start in range(0, total, size):
        stop = min(start + size, total)
        pieces, row = [], start
        while row < stop:
            prompt, first = divmod(row, k)
            last = min(k, first + (stop - row))
            pieces.append(Piece(prompt, slice(first, last)))
            row += last - first
        out.append(pieces)
    return out


def optimizer_steps(batches: list, accum: int) -> list[list]:
    """Group micro-batches `accum` at a time: each group is one optimiser step."""
    return [batches[i : i + accum] for i in range(0, len(batches), accum)]
