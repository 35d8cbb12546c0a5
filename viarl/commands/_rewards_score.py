"""`viarl rewards score`: score a JSONL file with a rule file, one JSON line out per line in.

Echoes an input's `id`, ablates components on request (`--ablate`), counts a missing
`completion_tokens` with a tokenizer (`--tokenizer`), and summarises each component on stderr
(`--summary`). Bad input exits 2 naming the file and line.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from viarl.errors import UserError

TOKENS = "completion_tokens"


def add_arguments(s: argparse.ArgumentParser) -> None:
    """The options of `viarl rewards score`."""
    s.add_argument("file", metavar="FILE", help="rule file")
    s.add_argument("input", metavar="INPUT.jsonl", help="samples to score, one JSON object per line")
    s.add_argument("--set", dest="overrides", action="append", default=[], metavar="NAME=VALUE",
                   help="override a parameter of the rules (repeatable)")
    s.add_argument("--ablate", action="append", default=[], metavar="COMPONENT",
                   help="score this component as 0 (repeatable); its value is still written "
                        "as ablated/COMPONENT")
    s.add_argument("--tokenizer", metavar="PATH", default=None,
                   help="model or tokenizer folder that counts completion_tokens on lines "
                        "that omit it (the selector's tokenizer)")
    s.add_argument("--summary", action="store_true",
                   help="print the mean, min and max of every component on stderr")


def run_score(args: argparse.Namespace) -> int:
    """Score every line of a JSONL file with the rules; JSONL to stdout."""
    from viarl.console import console
    from viarl.data.files import read_json_objects
    from viarl.rewards import load_rules
    from viarl.rewards.builtins import LAZY_INPUTS
    from viarl.rewards.columns import BatchError, NonFiniteScore

    rules = load_rules(args.file)
    params = dict(rules.parse_override(o) for o in args.overrides)
    scorer = rules.compile(params, ablate=rules.check_ablate(args.ablate, where="--ablate"))
    rows = read_json_objects(args.input, "input file")
    if not rows:
        from viarl.console import err_console

        err_console.print(f"{args.input}: no samples to score (the file holds no JSON lines)", markup=False)
    if TOKENS in rules.inputs:
        _count_missing_tokens(rows, args)
    lazy = {name for names in LAZY_INPUTS.values() for name in names}
    for n in sorted(rules.inputs - lazy):  # a missing field is an error, not None
        for lineno, r in rows:
            if n not in r:
                raise UserError(f"missing field `{n}` (the rules read it)",
                                where=f"{args.input}:{lineno}", fix=f"add `{n}` to this line")
    names = sorted(rules.inputs | {k for _, r in rows for k in r})
    batch = {n: [r.get(n) for _, r in rows] for n in names}
    try:
        out = scorer(batch)
    except NonFiniteScore as e:
        raise UserError(e.message, where=f"{args.input}:{rows[e.sample][0]}", fix=e.fix) from None
    except BatchError as e:
        where = args.input if e.sample is None else f"{args.input}:{rows[e.sample][0]}"
        fix = e.fix
        if e.column in lazy and "needed here" in e.message:  # the API's fix speaks of Python
            fix = f"add `{e.column}` to this line: the rules' `needs prediction` holds here"
        raise UserError(e.message, where=f"{where}: field `{e.column}`", fix=fix) from None
    for i, (_, row) in enumerate(rows):
        line = {"id": row["id"]} if "id" in row else {}
        line.update((k, float(v[i])) for k, v in out.items())
        console.out(json.dumps(line), highlight=False)
    if args.summary:
        _print_summary(out, len(rows))
    return 0


def _count_missing_tokens(rows: list[tuple[int, dict]], args: argparse.Namespace) -> None:
    """Fill `completion_tokens` where a line omits it, with `--tokenizer`; else exit 2."""
    todo = [r for _, r in rows if TOKENS not in r]
    if not todo:
        return
    if args.tokenizer is None:
        lineno = next(n for n, r in rows if TOKENS not in r)
        raise UserError(f"missing field `{TOKENS}` (the rules read it)",
                        where=f"{args.input}:{lineno}",
                        fix=f"add `{TOKENS}` to this line, or pass --tokenizer PATH (the "
                            "selector's model folder) to count the completion's tokens")
    tokenizer = load_tokenizer(args.tokenizer)
    for r in todo:
        if isinstance(r.get("completion"), str):  # else the batch check names the bad field
            r[TOKENS] = len(tokenizer(r["completion"], add_special_tokens=False)["input_ids"])


def load_tokenizer(path: str):
    """A transformers tokenizer from a local folder; UserError (exit 2) if there is none."""
    from pathlib import Path

    from transformers import AutoTokenizer

    if not Path(path).is_dir():
        raise UserError("tokenizer folder not found", where=path,
                        fix="pass a local model folder, e.g. the selector's (models.selector.path)")
    try:
        return AutoTokenizer.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError) as e:
        raise UserError(f"cannot load a tokenizer: {str(e).splitlines()[0]}", where=path,
                        fix="pass a folder holding tokenizer files (tokenizer.json …)") from None


def _print_summary(out: dict[str, np.ndarray], n: int) -> None:
    from viarl.console import err_console
    from viarl.commands.rewards import _table

    table = _table(f"{n} samples", "mean", "min", "max")
    for name, values in out.items():
        if n:
            table.add_row(name, f"{values.mean():.4g}", f"{values.min():.4g}", f"{values.max():.4g}")
        else:
            table.add_row(name, "-", "-", "-")
    err_console.print(table)
