"""Stage 1: REINFORCE++ on the selector.

One step: take `prompts_per_step` training questions; for each, sample k completions from one
shared prefill; score them with the compiled rule file (asking the answer model only where the
rules can use its answer); compute token advantages against the frozen reference (the selector
at the start of this cycle); then `epochs` passes of the clipped surrogate over the rollout.
"""

from __future__ import annotations

import copy
import time

import numpy as np
import torch

from viarl.train.answerer import AnswerRequest
from viarl.train.logprobs import completion_logprobs
from viarl.train.reinforce_pp import compute_advantages, policy_loss
from viarl.train.selector import banned_token_ids, indices_from_text, sample, selector_batch, selector_inputs
from viarl.train.stage import TrainingStage


def pad_right(rows: list[torch.Tensor], value: float = 0) -> torch.Tensor:
    """Stack [k_i, L_i] tensors into [sum k_i, max L_i], padding on the right."""
    width = max(r.shape[1] for r in rows)
    out = [torch.nn.functional.pad(r, (0, width - r.shape[1]), value=value) for r in rows]
    return torch.cat(out, 0)


class RLStage(TrainingStage):
    """REINFORCE++ (optionally -baseline) on the selector against the answer-model reward."""

    role = "selector"

    def setup(self) -> None:
        cfg = self.ctx.recipe.rl
        self.cfg = cfg
        self.steps = cfg.steps
        model = self.ctx.selector.model
        # The reference is the selector as this cycle found it; frozen, never wrapped.
        self.ref = copy.deepcopy(model).eval().requires_grad_(False)
        self.banned = banned_token_ids(self.ctx.selector.processor)
        self.prepare(model, lr=cfg.lr, weight_decay=cfg.weight_decay, schedule=cfg.schedule,
                     warmup_ratio=cfg.warmup_ratio, freeze_vision=self.ctx.recipe.models.selector.freeze_vision)

    def rollout(self, samples):
        """Sample, score and return everything the update needs for these prompts."""
        ctx, cfg, fr = self.ctx, self.cfg, self.ctx.recipe.frames
        k = cfg.samples_per_prompt
        model, proc = self.generation_model(), ctx.selector.processor  # whole weights under FSDP
        model.eval()
        cands = [ctx.candidates(s) for s in samples]
        batch_inputs = selector_batch(proc, [s.question for s in samples], [c.selector for c in cands],
                                      fr.select, fr.index_text)
        comp = sample(model, proc, batch_inputs, k, max_new_tokens=ctx.recipe.models.selector.max_new_tokens,
                      temperature=cfg.temperature, top_p=cfg.top_p, generator=ctx.generator)
        # Per-prompt views for the scoring passes, which share each prompt's prefill.
        prompts = [selector_inputs(proc, s.question, c.selector, fr.select, fr.index_text)
                   for s, c in zip(samples, cands)]
        tokens, masks, olds = [], [], []
        for i in range(len(samples)):
            rows = slice(i * k, (i + 1) * k)
            width = max(int(comp.mask[rows].sum(0).nonzero().max()) + 1, 1) if comp.mask[rows].any() else 1
            tokens.append(comp.tokens[rows, :width])
            masks.append(comp.mask[rows, :width])
            olds.append(comp.logprobs[rows, :width])
        texts, entropy = comp.texts, comp.entropy_sum
        counts = [c.count for c in cands for _ in range(k)]
        rep = [s for s in samples for _ in range(k)]
        self.scored_samples = rep  # names the sample of a non-finite reward (see TrainingStage.checked_step)
        batch = {
            "completion": texts,
            "completion_tokens": np.array([int(row.sum()) for m in masks for row in m], dtype=np.int64),
            "answer": [s.answer for s in rep],
            "candidates": np.array(counts, dtype=np.int64),
            "select": np.array([min(fr.select, c) for c in counts], dtype=np.int64),
            "prediction": [""] * len(rep),
            "answer_tokens": np.zeros(len(rep), dtype=np.int64),  # the answer model's length
        }
        for name in ctx.extra_inputs:
            batch[name] = [s.meta.get(name) for s in rep]
        calls_before, saved_before = ctx.answerer.calls, ctx.answerer.saved
        if ctx.needs_prediction:
            need = ctx.scorer.prediction_needed(batch)
            requests, where = [], []
            for i in np.flatnonzero(need):
                chosen = indices_from_text(texts[i], counts[i], batch["select"][i])
                if chosen is None:
                    continue
                s, c = rep[i], ctx.candidates(rep[i])
                requests.append(AnswerRequest((s.id, tuple(chosen)), [c.answer[j] for j in chosen],
                                              s.question, s.options))
                where.append(i)
            for i, (pred, ntok) in zip(where, ctx.answerer.answer_with_tokens(requests)):
                batch["prediction"][i], batch["answer_tokens"][i] = pred, ntok
        scores = ctx.scorer(batch)
        # ablated/NAME (what an ablated component would have scored) keeps its own prefix
        stats = {(name if name.startswith("ablated/") else f"reward/{name}"): float(np.mean(v))
                 for name, v in scores.items()}
        stats["answer_calls"] = ctx.answerer.calls - calls_before
        stats["answer_calls_saved"] = ctx.answerer.saved - saved_before
        ntok = float(sum(m.sum() for m in masks))
        stats["entropy"] = entropy / max(ntok, 1.0)
        stats["response_length"] = ntok / len(texts)
        rewards = torch.tensor(scores["total"], dtype=torch.float32)
        return prompts, tokens, masks, olds, rewards, stats, texts

    def step(self, step: int) -> dict:
        cfg, ctx = self.cfg, self.ctx
        t0 = time.perf_counter()
        samples = self.batch_samples(step, cfg.prompts_per_step)
        prompts, tokens, masks, old, rewards, stats, texts = self.rollout(samples)
        model = ctx.selector.model
        # π_old comes from the rollout itself (same weights, KV-cached); only π_ref needs a pass.
        with torch.no_grad():
            ref = [completion_logprobs(self.ref, p, t, m, self.banned) for p, t, m in zip(prompts, tokens, masks)]
        mask = pad_right(masks)
        logp_old, logp_ref = pad_right(old).cpu(), pad_right(ref).cpu()
        adv = compute_advantages(
            rewards, logp_old, logp_ref, mask, kl_coef=cfg.kl_coef, kl_clamp=cfg.kl_clamp,
            reward_clip=cfg.reward_clip, baseline=cfg.baseline, group_size=cfg.samples_per_prompt,
        )
        k = cfg.samples_per_prompt
        total_tok = float(mask.sum())
        model.train()
        losses, clipfrac, norms = [], [], []
        for _ in range(cfg.epochs):
            for i, (p, t, m) in enumerate(zip(prompts, tokens, masks)):
                rows = slice(i * k, (i + 1) * k)
                width = t.shape[1]
                logp = completion_logprobs(model, p, t, m, self.banned)
                loss, info = policy_loss(
                    logp, logp_old[rows, :width].to(logp.device), adv.advantages[rows, :width].to(logp.device),
                    m.to(logp.device), clip_eps=cfg.clip_eps,
                )
                # Weight each prompt by its share of tokens: the update is a token mean over the batch.
                self.backward(loss * float(m.sum()) / max(total_tok, 1.0))
                losses.append(float(loss.detach()))
                clipfrac.append(info.get("clip_fraction", 0.0))
            norms.append(self.optimizer_step(cfg.grad_clip))
        kl = float((adv.kl * mask).sum() / max(total_tok, 1.0))
        self.examples = texts[:4]
        stats.update(loss=float(np.mean(losses)), grad_norm=float(np.mean(norms)), kl=kl,
                     clip_fraction=float(np.mean(clipfrac)),
                     samples_per_s=len(texts) / (time.perf_counter() - t0))
        return stats
