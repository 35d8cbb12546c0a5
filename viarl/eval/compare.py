"""Several selectors, one answer model, one dataset: the side-by-side comparison.

`compare_selectors` runs `evaluate` once per selector (sharing the frame cache and the answer
model's memo: two selectors that pick the same frames for a question cost one answer call),
writes ``<out>/<selector>/predictions.jsonl``, ``<out>/results.{csv,json}`` and ``<out>/groups.json``
(hit rate and accuracy by true answer and by the truth's slot), and returns the
ResultsTable. Entries the dataset loader skipped are added to every selector's skip counts:
they are questions no selector could answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from viarl.atomic import write_json
from viarl.distributed import rank
from viarl.eval.evaluate import EvalResult, evaluate
from viarl.eval.tables import ResultsTable


def compare_selectors(samples: Sequence[Any], selectors: Sequence[Any], answerer, *, candidates: int,
                      select: int, selector_size: int, answer_size: int, out_dir: str | Path,
                      cache=None, truth=None, loader_skips: Mapping[str, int] | None = None,
                      batch_size: int = 8, progress: bool = True, prefilter=None,
                      settings: Mapping[str, Any] | None = None) -> tuple[ResultsTable, list[EvalResult]]:
    """Evaluate each selector (in order) and write predictions and results; see the module docstring.
    settings: the evaluation settings block (eval.settings), written into results.json."""
    out_dir = Path(out_dir)
    results = []
    for sel in selectors:
        res = evaluate(samples, sel, answerer, candidates=candidates, select=select,
                       selector_size=selector_size, answer_size=answer_size, cache=cache, truth=truth,
                       out_dir=out_dir / sel.name, progress=progress, batch_size=batch_size,
                       prefilter=prefilter)
        for reason, count in (loader_skips or {}).items():
            res.skipped[reason] = res.skipped.get(reason, 0) + count
        results.append(res)
    table = ResultsTable([r.summary() for r in results], settings=dict(settings) if settings else None)
    if rank() == 0:  # every process holds the whole results; one writes them
        table.write(out_dir)
        # by true answer and by the truth's candidate slot, per selector (eval.groups)
        write_json(out_dir / "groups.json",
                   {r.selector: {"by_answer": r.by_answer, "by_slot": r.by_slot} for r in results})
    return table, results
