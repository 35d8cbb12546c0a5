"""`build_report(run_dir)`: plots, contact sheets and index.html for one run folder.

Reads what `run_files.load_run` finds, draws `plots.plot_training` / `plots.plot_evals`, writes
a few contact sheets per (cycle, selector) predictions file, and links everything from
`<out>/index.html` (default out: `<run_dir>/report`).
"""

from __future__ import annotations

from pathlib import Path

from viarl.console import progress
from viarl.data.truth import load_truth
from viarl.eval.evaluate import result_from_predictions
from viarl.report.html import Section, write_page
from viarl.report.plots import plot_evals, plot_training
from viarl.report.run_files import RunFiles, load_run
from viarl.report.sheets import write_sheets

_CAPTIONS = {
    "rewards": "reward components and total per RL step (dashed: cycle start; shaded: warm-up / SFT)",
    "kl": "KL to the reference selector per RL step",
    "response_length": "selector response length (tokens) per RL step",
    "loss": "loss per step, all stages",
    "entropy": "selector sampling entropy per RL step",
    "grad_norm": "gradient norm per step",
    "eval_accuracy": "answer accuracy per cycle: trained vs uniform vs clip",
    "eval_hit_rate": "needle hit rate per cycle (some chosen frame inside the needle span), 95 % band",
    "eval_distinct_picks": "distinct greedy picks per cycle: 1 means the selector ignores the video",
}


def _truth(run: RunFiles):
    data = run.summary.get("eval_data") if isinstance(run.summary, dict) else None
    if not isinstance(data, dict) or not data.get("path"):
        return None, "summary.json names no eval_data: needle spans are not marked"
    root = Path(data["path"])
    if not root.is_absolute() and not root.exists():
        root = run.root / root
    truth = load_truth(root) if root.is_dir() else None
    return truth, None if truth is not None else f"no truth.json under {root}: needle spans are not marked"


def _eval_table(run: RunFiles):
    head = ["cycle", "selector", "accuracy", "hit rate", "n", "fallbacks"]
    rows = [[r.get("cycle"), r.get("selector"), r.get("accuracy"), r.get("hit_rate"), r.get("n"), r.get("fallbacks")]
            for r in sorted(run.evals, key=lambda r: (r.get("cycle", 0), str(r.get("selector"))))]
    return head, rows


def build_report(run_dir: str | Path, out_dir: str | Path | None = None, *, sheets: int = 3) -> Path:
    """Write the report of `run_dir` and return the path of its index.html."""
    run = load_run(run_dir)
    out = Path(out_dir) if out_dir is not None else run.root / "report"
    sections: list[Section] = []
    training = plot_training(run.metrics, out / "plots") if run.metrics else []
    sections.append(Section("Training", [(p, _CAPTIONS.get(p.stem, p.stem)) for p in training],
                            notes=[] if training else ["no metrics.jsonl in this run"]))
    evals = plot_evals(run.evals, out / "plots") if run.evals else []
    sections.append(Section("Evaluation", [(p, _CAPTIONS.get(p.stem, p.stem)) for p in evals],
                            table=_eval_table(run) if run.evals else None,
                            notes=[] if run.evals else ["no eval.jsonl in this run"]))
    truth, note = _truth(run)
    if run.predictions and sheets > 0:
        with progress(transient=True) as bar:
            task = bar.add_task("contact sheets", total=len(run.predictions), info="")
            for (cycle, selector), path in sorted(run.predictions.items()):
                rows = result_from_predictions(path, selector).rows
                made, problems = write_sheets(rows, out / "sheets" / f"cycle_{cycle}" / selector,
                                              truth=truth, k=sheets, selector=f"cycle {cycle} · {selector}")
                figs = [(p, f"{row.get('id')}: {'correct' if row.get('correct') else 'wrong'}"
                            + ("" if row.get("hit") is None else f", needle {'hit' if row['hit'] else 'missed'}"))
                        for p, row in made]
                notes = ([note] if note and truth is None else []) + [f"sheet skipped: {p}" for p in problems]
                sections.append(Section(f"Questions: cycle {cycle}, {selector}", figs, notes=notes, wide=True))
                bar.update(task, advance=1)
    subtitle = f"run folder: {run.root.resolve()}"
    return write_page(out / "index.html", f"viarl report: {run.root.name}", sections, subtitle)
