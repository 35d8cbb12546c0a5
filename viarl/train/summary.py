"""summary.json and the final table: the last evaluation of every selector, side by side."""

from __future__ import annotations

from rich.table import Table

from viarl.console import console


def summary_dict(ctx, wall_s: float) -> dict:
    """What a researcher reads first: final accuracy / hit rate per selector, and per cycle."""
    rows = ctx.state.get("eval", [])
    last = max((r["cycle"] for r in rows), default=None)
    final = {r["selector"]: {k: r[k] for k in ("accuracy", "hit_rate", "n", "fallbacks")}
             for r in rows if r["cycle"] == last}
    r = ctx.recipe
    return {
        "recipe": r.name,
        "seed": r.seed,
        "final_cycle": last,
        "final": final,
        "cycles": rows,
        "eval_data": {"format": r.data.eval.format, "path": str(r.data.eval.path)} if r.data.eval else None,
        "frames": {"candidates": r.frames.candidates, "select": r.frames.select},
        # the reward the selector was trained on, ablation included (an ablation study's runs
        # differ only here)
        "rewards": {"file": r.rewards.file, "params": dict(r.rewards.params),
                    "ablate": list(r.rewards.ablate)},
        "stages_done": list(ctx.state["done"]),
        "models": dict(ctx.state["models"]),
        "wall_s": round(wall_s, 1),
    }


def print_summary(summary: dict) -> None:
    """The final rich table."""
    table = Table(title=f"viarl run {summary['recipe']} (seed {summary['seed']}), "
                        f"final evaluation after cycle {summary['final_cycle']}")
    for col in ("selector", "accuracy", "needle hit rate", "questions", "fallbacks"):
        table.add_column(col, justify="left" if col == "selector" else "right")
    for name, r in summary["final"].items():
        hit = "-" if r["hit_rate"] is None else f"{r['hit_rate']:.3f}"
        table.add_row(name, f"{r['accuracy']:.3f}", hit, str(r["n"]), str(r["fallbacks"]))
    console.print(table)
