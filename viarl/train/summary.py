"""summary.json and the final table: the last evaluation of every selector, side by side, with
the trained selector before any RL (cycle 0) beside it, so a reader sees what RL itself did."""

from __future__ import annotations

from rich.table import Table

from viarl.console import console
from viarl.eval.groups import print_group_tables
from viarl.eval.settings import recipe_settings

KEYS = ("accuracy", "accuracy_ci95", "hit_rate", "hit_ci95", "distinct_picks", "off_mode_share", "n",
        "fallbacks", "accuracy_on_hits", "accuracy_on_misses", "by_answer", "by_slot")


def _cells(row: dict) -> dict:
    return {k: row.get(k) for k in KEYS}


def summary_dict(ctx, wall_s: float) -> dict:
    """What a researcher reads first: final accuracy / hit rate per selector, and per cycle.

    `pre_rl` holds each selector's cycle-0 evaluation (after the `before` stages, before any RL).
    """
    every = ctx.state.get("eval", [])
    rows = [r for r in every if not r.get("split")]  # data.eval, every cycle
    splits: dict = {}
    for r in every:
        if r.get("split"):  # data.final, once at the end
            splits.setdefault(r["split"], {})[r["selector"]] = _cells(r)
    last = max((r["cycle"] for r in rows), default=None)
    final = {r["selector"]: _cells(r) for r in rows if r["cycle"] == last}
    pre = {r["selector"]: _cells(r) for r in rows if r["cycle"] == 0}
    r = ctx.recipe
    models = dict(ctx.state["models"])  # the last stage's models, relative to the run folder
    selectors = {s: models.get("selector", r.models.selector.path) if s == "trained" else s
                 for s in r.evaluation.selectors}
    settings = recipe_settings(r, selectors, selector_processor=ctx.selector.processor,
                               answer_processor=ctx.answerer.processor,
                               answer=models.get("answer", r.models.answer.path), extra_rows=True)
    return {
        "recipe": r.name,
        "seed": r.seed,
        "final_cycle": last,
        "final": final,
        "pre_rl": pre,
        "final_splits": splits,
        "cycles": rows,
        "eval_data": {"format": r.data.eval.format, "path": str(r.data.eval.path)} if r.data.eval else None,
        "final_data": {k: str(v.path) for k, v in r.data.final.items()},
        "frames": {"candidates": r.frames.candidates, "select": r.frames.select},
        # the reward the selector was trained on, ablation included (an ablation study's runs
        # differ only here)
        "rewards": {"file": r.rewards.file, "params": dict(r.rewards.params),
                    "ablate": list(r.rewards.ablate)},
        "stages_done": list(ctx.state["done"]),
        "models": dict(ctx.state["models"]),
        "wall_s": round(wall_s, 1),
        "settings": settings,  # what moves the scores above (eval/settings.py)
    }


def _rate(value, ci) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" + (f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "")


def print_summary(summary: dict) -> None:
    """The final rich table: every selector's last evaluation, and the trained selector at cycle 0."""
    _print_main(summary["final"], summary, f"viarl run {summary['recipe']} (seed {summary['seed']}), "
                f"evaluation after cycle {summary['final_cycle']} (95 % intervals)")
    for split, cells in summary.get("final_splits", {}).items():
        _print_main(cells, {}, f"final evaluation on {split} (95 % intervals)")
    for split, cells in [("eval", summary["final"]), *summary.get("final_splits", {}).items()]:
        print_group_tables(cells, split)


def _print_main(cells: dict, summary: dict, title: str) -> None:
    table = Table(title=title)
    for col in ("selector", "accuracy", "needle hit rate", "distinct picks", "off-mode share",
                "questions", "fallbacks"):
        table.add_column(col, justify="left" if col == "selector" else "right")
    rows = list(cells.items())
    pre = summary.get("pre_rl", {}).get("trained")
    if pre is not None and summary.get("final_cycle"):
        rows.insert(1 if rows and rows[0][0] == "trained" else 0, ("trained, cycle 0 (pre-RL)", pre))
    for name, r in rows:
        off = "-" if r.get("off_mode_share") is None else f"{r['off_mode_share']:.2f}"
        table.add_row(name, _rate(r["accuracy"], r.get("accuracy_ci95")), _rate(r["hit_rate"], r.get("hit_ci95")),
                      str(r.get("distinct_picks", "-")), off, str(r["n"]), str(r["fallbacks"]))
    console.print(table)
