"""The run's stages in order: the `before` stages once, then the cycle repeated, with evaluations."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PlannedStage:
    id: str  # e.g. "pre0-warmup", "c1-rl", "c1-eval"
    kind: str
    cycle: int


def plan(recipe) -> list[PlannedStage]:
    """The ordered stages of a run; ids are stable, so state.json can name what is done."""
    out = [PlannedStage(f"pre{i}-{k}", k, 0) for i, k in enumerate(recipe.stages.before)]
    evaluate_each = recipe.evaluation.after_each_cycle and bool(recipe.evaluation.selectors)
    if evaluate_each:
        out.append(PlannedStage("c0-eval", "eval", 0))
    for c in range(1, recipe.stages.cycles + 1):
        out += [PlannedStage(f"c{c}-{k}", k, c) for k in recipe.stages.cycle if k != "eval"]
        if evaluate_each or (c == recipe.stages.cycles and recipe.evaluation.selectors):
            out.append(PlannedStage(f"c{c}-eval", "eval", c))
    if recipe.stages.cycles == 0 and not evaluate_each and recipe.evaluation.selectors:
        out.append(PlannedStage("c0-eval", "eval", 0))
    if recipe.data.final and recipe.evaluation.selectors:  # test / shifted splits: scored once, at the end
        out.append(PlannedStage("final-eval", "final_eval", recipe.stages.cycles))
    return out
