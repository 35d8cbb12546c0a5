"""The evaluation stage: every configured selector on held-out questions, with the current models.

Run after each cycle (and once before training, as cycle 0), it appends one line per selector to
`eval.jsonl` and writes each selector's predictions under `eval/cycle_<c>/<selector>/`. The last
one also becomes `summary.json`. Uniform and CLIP use the same answer model as the trained
selector, so the rows differ only in which frames were chosen.

Every process evaluates its share of the questions (`eval.evaluate`), in the recipe's compute
dtype; the main process writes the files. The models are whole on every process (FSDP stages
hand on their plain twin), so no forward here waits for another process.
"""

from __future__ import annotations

from viarl.console import console
from viarl.eval.evaluate import evaluate
from viarl.eval.selectors import ClipSelector, UniformSelector
from viarl.policy.selector import TrainedSelector
from viarl.train.precision import autocast
from viarl.train.trackers import log_eval


def make_selectors(ctx, names=None, suffix: str = "") -> list:
    """The selectors the recipe asks for (or `names`), in its order; `suffix` is added to their
    names (e.g. "+prefilter" for the rows evaluated on pre-filtered candidates)."""
    out = []
    for name in ctx.recipe.evaluation.selectors if names is None else names:
        if name == "trained":
            sel = TrainedSelector(ctx.selector.model, ctx.selector.processor, index_text=ctx.recipe.frames.index_text,
                                  max_new_tokens=ctx.recipe.models.selector.max_new_tokens,
                                  question_position=ctx.recipe.frames.question_position)
        elif name == "uniform":
            sel = UniformSelector()
        elif name == "clip":
            sel = ClipSelector(ctx.clip(), diversity=ctx.recipe.evaluation.clip_diversity)
        sel.name = sel.name + suffix  # an instance attribute: the class keeps its plain name
        out.append(sel)
    return out


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.3f}"


class EvalStage:
    """Evaluate after a cycle; `setup` / `run` / `save` like every stage."""

    def __init__(self, ctx, stage_id: str, cycle: int):
        self.ctx, self.id, self.cycle = ctx, stage_id, cycle
        self.rows: list[dict] = []

    def setup(self) -> None:
        ctx, fr, extra = self.ctx, self.ctx.recipe.frames, self.ctx.recipe.evaluation.prefilter
        # (selector, pre-filter or None): with frames.prefilter every row sees pre-filtered
        # candidates; evaluation.prefilter adds rows that do, beside rows that do not.
        pre = ctx.prefilter(fr.prefilter.frames, fr.prefilter.batch_size) if fr.prefilter else None
        self.selectors = [(sel, pre) for sel in make_selectors(ctx)]
        if extra is not None and pre is None:
            pre = ctx.prefilter(extra.frames, extra.batch_size)
            self.selectors += [(sel, pre) for sel in make_selectors(ctx, extra.selectors, "+prefilter")]

    def run(self) -> None:
        ctx, fr = self.ctx, self.ctx.recipe.frames
        samples = ctx.eval
        if ctx.recipe.evaluation.limit:
            samples = samples[: ctx.recipe.evaluation.limit]
        for sel, pre in self.selectors:
            out = ctx.run_dir / "eval" / f"cycle_{self.cycle}" / sel.name
            with autocast(ctx.recipe.run.precision, ctx.accelerator.device):
                res = evaluate(samples, sel, ctx.answerer, candidates=fr.candidates, select=fr.select,
                               selector_size=fr.selector_size, answer_size=fr.answer_size,
                               cache=ctx.frame_cache, truth=ctx.truth, out_dir=out,
                               batch_size=ctx.recipe.evaluation.answer_batch_size, prefilter=pre)
            self.rows.append({"cycle": self.cycle, **res.to_json()})
        if not ctx.accelerator.is_main_process:
            return  # every process holds the rows; the main one reports them
        log_eval(ctx.accelerator, self.rows, self.cycle, ctx.global_step)
        console.print(f"[bold]eval cycle {self.cycle}[/]  " + "  ".join(
            f"{r['selector']}: acc={_fmt(r['accuracy'])}"
            + (f" hit={r['hit_rate']:.3f}" if r["hit_rate"] is not None else "")
            + f" picks={r['distinct_picks']}" for r in self.rows))

    def save(self) -> None:
        # The engine keeps eval rows in state.json and rewrites eval.jsonl from it, so a stage
        # killed half-way never leaves a duplicated line.
        self.ctx.mark_done(self.id, {}, eval_rows=self.rows)
