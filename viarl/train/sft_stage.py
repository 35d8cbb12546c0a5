"""Supervised stages: answer-model SFT on the selector's picks, the answer warm-up, the selector's
format warm-up.

Stage 2 of a cycle (`SFTStage`) tunes the answer model with token cross-entropy on the correct
letter, given the frames the current selector picks for each training question (prompt tokens
masked). `AnswerWarmupStage` is the same on every candidate frame, before any selector exists. The optional warm-up (`WarmupStage`) teaches a randomly initialised selector only the
output format: keyword reasoning and N uniformly spaced indices with a random offset. It sees no
frame labels, so it cannot leak where the needle is.
"""

from __future__ import annotations

import time

import numpy as np

from viarl.selection import selection_or_uniform, uniform_indices
from viarl.policy.prompts import answer_messages, selector_messages, selector_target
from viarl.policy.sampler import sample, selector_batch
from viarl.policy.selector import TrainedSelector
from viarl.train.rl_picks import cycle_picks
from viarl.train.stage import TrainingStage
from viarl.train.supervised import IGNORE, supervised_batch, supervised_loss


def supervised_step(stage: TrainingStage, examples, grad_clip: float, accum: int = 1) -> dict:
    """One optimiser step of cross-entropy on (messages, images, target) examples.

    The examples run in `accum` equal batches. Each batch's loss is a mean over its target
    tokens; weighted by its share of the step's target tokens, the summed gradients are those of
    one batch of all the examples.
    """
    t0 = time.perf_counter()
    stage.model.train()
    size = -(-len(examples) // accum)
    batches = [supervised_batch(stage.bundle.processor, examples[i : i + size])
               for i in range(0, len(examples), size)]
    total = max(sum(int((b["labels"][:, 1:] != IGNORE).sum()) for b in batches), 1)
    loss_sum, stats = 0.0, {"token_accuracy": 0.0, "target_tokens": 0}
    for batch in batches:
        with stage.autocast():
            loss, info = supervised_loss(stage.model, batch)
        share = info["target_tokens"] / total
        stage.backward(loss if len(batches) == 1 else loss * share)
        loss_sum += float(loss.detach()) * share
        stats["token_accuracy"] += info["token_accuracy"] * share
        stats["target_tokens"] += info["target_tokens"]
    norm = stage.optimizer_step(grad_clip)
    return {"loss": loss_sum, "grad_norm": norm, **stats,
            "samples_per_s": len(examples) / (time.perf_counter() - t0)}


class SFTStage(TrainingStage):
    """Answer-model tuning on the frames the current selector picks."""

    role = "answer"
    section = "sft"  # the recipe section holding this stage's settings

    def setup(self) -> None:
        cfg = getattr(self.ctx.recipe, self.section)
        self.cfg, self.steps = cfg, cfg.steps
        self.picks: dict[str, tuple[int, ...]] = {}
        self.prepare(self.ctx.answer.model, lr=cfg.lr, weight_decay=cfg.weight_decay, schedule=cfg.schedule,
                     warmup_ratio=cfg.warmup_ratio, freeze_vision=cfg.freeze_vision)

    def chosen(self, samples) -> list[tuple[int, ...]]:
        """The current selector's picks (uniform where its output is unusable).

        `sft.picks: sample` draws a fresh pick each time at the RL temperature; `rollout` reuses each
        question's pick from the cycle's last RL rollout (`rl_picks`), `greedy` takes the most likely
        pick, once per question; `all` takes every candidate.
        """
        ctx, fr = self.ctx, self.ctx.recipe.frames
        if self.cfg.picks == "all":
            return [tuple(range(ctx.candidates(s).count)) for s in samples]
        if self.cfg.picks == "sample":
            cands = [ctx.candidates(s) for s in samples]
            inputs = selector_batch(ctx.selector.processor, [s.question for s in samples],
                                    [c.selector for c in cands], fr.select, fr.index_text, fr.question_position)
            with self.autocast():
                comp = sample(ctx.selector.model, ctx.selector.processor, inputs, 1,
                              max_new_tokens=ctx.recipe.models.selector.max_new_tokens,
                              temperature=ctx.recipe.rl.temperature, top_p=ctx.recipe.rl.top_p,
                              generator=ctx.generator)
            out = []
            return [tuple(selection_or_uniform(text, c.count, fr.select)[0]) for text, c in zip(comp.texts, cands)]
        if self.cfg.picks == "rollout" and not self.picks:
            # What the cycle's RL stage last drew per question; the rest fall back to greedy below.
            self.picks = {sid: tuple(idx) for sid, idx in cycle_picks(ctx.run_dir, self.cycle).items()}
        todo = [s for s in samples if s.id not in self.picks]
        if todo:
            sel = TrainedSelector(ctx.selector.model, ctx.selector.processor, index_text=fr.index_text,
                                  max_new_tokens=ctx.recipe.models.selector.max_new_tokens,
                                  question_position=fr.question_position)
            with self.autocast():
                picks = sel.select(todo, [ctx.candidates(s) for s in todo], fr.select)
            for s, pick in zip(todo, picks):
                self.picks[s.id] = pick.indices
        return [self.picks[s.id] for s in samples]

    def step(self, step: int) -> dict:
        samples = self.batch_samples(step, self.cfg.batch_size * self.cfg.grad_accum)
        examples = []
        for s, idx in zip(samples, self.chosen(samples)):
            c = self.ctx.candidates(s)
            target = s.answer_text if self.cfg.target == "text" else s.answer
            examples.append((answer_messages(s.question, s.options, len(idx)), c.answer_images(idx), target))
        stats = supervised_step(self, examples, self.cfg.grad_clip, self.cfg.grad_accum)
        stats["frames_per_example"] = float(np.mean([len(images) for _, images, _ in examples]))
        return stats

    def save(self) -> None:
        super().save()
        self.ctx.answerer.reset()  # new weights: memoised answers are stale


class AnswerWarmupStage(SFTStage):
    """Answer SFT before any selector training, by default on every candidate frame (`picks: all`).

    A randomly initialised answer model given 2 of 8 frames almost never sees what the question
    asks about, so SFT on the selector's picks teaches it little; on all T frames it always does.
    Only the correct letter is used, as in `sft`: no frame labels.
    """

    section = "answer_warmup"


class WarmupStage(TrainingStage):
    """Selector format warm-up: uniformly spaced indices with a random offset, no frame labels."""

    role = "selector"

    def setup(self) -> None:
        cfg = self.ctx.recipe.warmup
        self.cfg, self.steps = cfg, cfg.steps
        self.prepare(self.ctx.selector.model, lr=cfg.lr, weight_decay=0.0, schedule=cfg.schedule,
                     warmup_ratio=cfg.warmup_ratio, freeze_vision=self.ctx.recipe.models.selector.freeze_vision)

    def step(self, step: int) -> dict:
        fr = self.ctx.recipe.frames
        rng = np.random.default_rng([self.ctx.recipe.seed, 7, step])
        examples = []
        for s in self.batch_samples(step, self.cfg.batch_size):
            c = self.ctx.candidates(s)
            idx = uniform_indices(c.count, fr.select, offset=float(rng.random()))
            msgs = selector_messages(s.question, c.count, fr.select, fr.index_text, fr.question_position)
            examples.append((msgs, c.selector, selector_target(s.question, idx, self.cfg.think_words)))
        return supervised_step(self, examples, self.cfg.grad_clip)
