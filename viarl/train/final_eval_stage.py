"""The final evaluation: every selector on each split of `data.final`, once, after the last cycle.

`data.eval` is what every cycle's evaluation reads, so it is the split decisions are made on (a
validation split). The splits of `data.final` (a test split, a shifted split with another look)
are scored here only, once, with the final models (and, as row `pre-rl`, the selector RL started
from, with the final answer model); their rows carry `split` in `eval.jsonl`,
their predictions go to `eval/final/<split>/<selector>/`, and `summary.json` lists them under
`final_splits`.
"""

from __future__ import annotations

from viarl.console import console
from viarl.data.truth import load_truth
from viarl.eval.evaluate import evaluate
from viarl.models.lora import load_policy
from viarl.policy.selector import TrainedSelector
from viarl.train import checkpoint as ckpt
from viarl.train.context import load_split
from viarl.train.eval_stage import make_selectors


class FinalEvalStage:
    """Evaluate the final models on `data.final`; `setup` / `run` / `save` like every stage."""

    def __init__(self, ctx, stage_id: str, cycle: int):
        self.ctx, self.id, self.cycle = ctx, stage_id, cycle
        self.rows: list[dict] = []

    def setup(self) -> None:
        self.selectors = make_selectors(self.ctx)
        start = self.ctx.state.get("rl_reference")
        if start and "trained" in self.ctx.recipe.evaluation.selectors:
            self.selectors.insert(1, self.pre_rl_selector(start))

    def pre_rl_selector(self, start: dict):
        """The selector as the first RL stage found it (row `pre-rl`): what RL itself added shows
        on the final splits too, not only on `data.eval`."""
        ctx, cfg = self.ctx, self.ctx.recipe.models.selector
        path = ckpt.in_run(ctx.run_dir, start["path"]) if start["in_run"] else start["path"]
        model, processor = load_policy(path, None, dtype="float32", attn_implementation=cfg.attn_implementation,
                                       device=str(ctx.accelerator.device))
        sel = TrainedSelector(model, processor, index_text=ctx.recipe.frames.index_text,
                              max_new_tokens=cfg.max_new_tokens, question_position=ctx.recipe.frames.question_position)
        sel.name = "pre-rl"
        return sel

    def run(self) -> None:
        ctx, fr = self.ctx, self.ctx.recipe.frames
        if not ctx.accelerator.is_main_process:
            return  # one process evaluates; the others wait for it in `save`
        pre = ctx.prefilter(fr.prefilter.frames, fr.prefilter.batch_size) if fr.prefilter else None
        for name, split in ctx.recipe.data.final.items():
            samples, truth = load_split(ctx.recipe, split), load_truth(split.path)
            for sel in self.selectors:
                res = evaluate(samples, sel, ctx.answerer, candidates=fr.candidates, select=fr.select,
                               selector_size=fr.selector_size, answer_size=fr.answer_size,
                               cache=ctx.frame_cache, truth=truth,
                               out_dir=ctx.run_dir / "eval" / "final" / name / sel.name,
                               batch_size=ctx.recipe.evaluation.answer_batch_size, prefilter=pre)
                self.rows.append({"cycle": self.cycle, "split": name, **res.to_json()})
            console.print(f"[bold]final eval on {name}[/]  " + "  ".join(
                f"{r['selector']}: acc={r['accuracy']:.3f}" + (f" hit={r['hit_rate']:.3f}" if r["hit_rate"] is not None else "")
                for r in self.rows if r["split"] == name and r["accuracy"] is not None))

    def save(self) -> None:
        self.ctx.mark_done(self.id, {}, eval_rows=self.rows)
