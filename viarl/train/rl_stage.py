"""Stage 1: REINFORCE++ on the selector.

One step: take `prompts_per_step` training questions; for each, sample k completions from one
shared prefill; score them with the compiled rule file (asking the answer model only where the
rules can use its answer); compute token advantages against the frozen reference (the selector
at the start of this cycle); then `epochs` passes of the clipped surrogate over the rollout,
in optimiser steps of `minibatch_size` × `grad_accum` sequences (default: one step per epoch).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from viarl.atomic import write_json
from viarl.distributed import all_gather_objects
from viarl.models.lora import AdapterReference, adapter_reference, is_peft_model, load_policy, reference_model
from viarl.train import checkpoint as ckpt
from viarl.eval.answer_parse import parse_answer
from viarl.policy.answerer import AnswerRequest
from viarl.train.logprobs import completion_logprobs
from viarl.train.minibatch import micro_batches, optimizer_steps
from viarl.train.precision import inference_copy
from viarl.train.rl_picks import load_picks, picks_file
from viarl.train.reinforce_pp import compute_advantages, policy_loss
from viarl.policy.engine import HFEngine
from viarl.policy.sampler import banned_token_ids, selector_inputs
from viarl.selection import effective_select, parse_selection, selection_or_uniform
from viarl.train.sharding import is_sharded
from viarl.train.stage import TrainingStage


def digit_token_ids(processor) -> torch.Tensor:
    """Ids of the tokens that are digits only (how frame indices are written), as a 1-D tensor."""
    tok = processor.tokenizer
    ids = [i for t, i in tok.get_vocab().items() if tok.convert_tokens_to_string([t]).strip().isdigit()]
    return torch.tensor(sorted(ids), dtype=torch.long)


def old_logprob_source(choice: str, precision: str, sharded: bool) -> str:
    """`rl.old_logprobs` resolved: `training` where the sampler's numerics differ from the loss's."""
    if choice != "auto":
        return choice
    return "training" if precision != "fp32" or sharded else "sampler"


def pad_right(rows: list[torch.Tensor], value: float = 0) -> torch.Tensor:
    """Stack [k_i, L_i] tensors into [sum k_i, max L_i], padding on the right."""
    width = max(r.shape[1] for r in rows)
    out = [torch.nn.functional.pad(r, (0, width - r.shape[1]), value=value) for r in rows]
    return torch.cat(out, 0)


@dataclass
class Rollout:
    """One RL step's samples: P prompts, k completions each (prompt-major, like the sampler).

    prompts: P batch-1 processor outputs (each prompt encoded once).
    tokens, masks, logp_old: P tensors [k, L_i] (right-padded completions, 1.0 on valid tokens,
        log π_old of each sampled token; L_i is the longest completion of prompt i).
    rewards: [P·k] the rule file's total per completion.
    stats: metrics of the step so far; texts: the P·k decoded completions.
    """

    prompts: list
    tokens: list[torch.Tensor]
    masks: list[torch.Tensor]
    logp_old: list[torch.Tensor]
    rewards: torch.Tensor
    stats: dict
    texts: list[str]


class RLStage(TrainingStage):
    """REINFORCE++ (optionally -baseline) on the selector against the answer-model reward."""

    role = "selector"

    def setup(self) -> None:
        cfg = self.ctx.recipe.rl
        self.cfg = cfg
        self.steps = cfg.steps
        model = self.ctx.selector.model
        self.ref = self.reference(model)
        self.banned = banned_token_ids(self.ctx.selector.processor)
        self.engine = HFEngine(self.ctx.selector.processor)  # the rollout-engine boundary (policy.engine)
        self.digit_ids = digit_token_ids(self.ctx.selector.processor)
        # Each question's pick in its latest rollout (sample 0 of its group): `sft.picks: rollout`.
        self.picks = load_picks(picks_file(self.ctx.run_dir, self.id))
        # Optimiser steps of one RL step: lists of micro-batches (see `minibatch`).
        self.schedule = optimizer_steps(micro_batches(cfg.prompts_per_step, cfg.samples_per_prompt,
                                                      cfg.minibatch_size), cfg.grad_accum)
        self.old_source = old_logprob_source(cfg.old_logprobs, self.ctx.recipe.run.precision,
                                             is_sharded(self.ctx.accelerator))
        self.prepare(model, lr=cfg.lr, weight_decay=cfg.weight_decay, schedule=cfg.schedule,
                     warmup_ratio=cfg.warmup_ratio, freeze_vision=self.ctx.recipe.models.selector.freeze_vision,
                     optimizer_steps=self.steps * cfg.epochs * len(self.schedule))

    def reference(self, model):
        """The frozen KL reference; never wrapped, and only ever run forward, so it lives in the
        compute dtype (bf16 halves its memory).

        `rl.reference: cycle` (the paper) is the selector as this cycle found it. `initial` is the
        selector as the FIRST RL stage found it (the pretrained or warmed-up policy), kept for every
        cycle: its KL then bounds how far the policy drifts in total, not only within one cycle.
        """
        ctx, precision = self.ctx, self.ctx.recipe.run.precision
        # LoRA: the policy's own base with the reference point's adapters (see `AdapterReference`).
        lora = is_peft_model(model)
        if self.cfg.reference == "cycle":
            return AdapterReference.snapshot(model) if lora else inference_copy(model, precision)
        # Where the selector came from when RL first started: kept in state.json (relative to
        # the run folder when it is one of the run's checkpoints, like every state.json path), so
        # every later cycle and a resumed run load the same weights.
        stored = ctx.state["models"].get("selector")  # None until a stage has trained the selector
        start = {"path": stored, "in_run": True} if stored else {"path": ctx.recipe.models.selector.path,
                                                                  "in_run": False}
        first = ctx.state.setdefault("rl_reference", start)
        if first == start:  # the first RL stage: it starts from the reference
            return AdapterReference.snapshot(model) if lora else inference_copy(model, precision)
        path = ckpt.in_run(ctx.run_dir, first["path"]) if first["in_run"] else first["path"]
        if lora:
            return adapter_reference(model, path)
        ref, _ = load_policy(path, None, dtype="float32", attn_implementation=ctx.recipe.models.selector.attn_implementation,
                             device=str(ctx.accelerator.device))  # an adapter checkpoint: merged into its base
        return inference_copy(ref, precision)

    def old_logprobs(self, ro: Rollout) -> list[torch.Tensor]:
        """π_old of each prompt's completions, [k, L_i] each (see `rl.old_logprobs`).

        From the sampler, or from a no-grad pass of the training model (its numerics: FSDP,
        autocast) when a later optimiser step of this rollout needs them; the first step takes
        the loss forward's own (`accumulate`), so a single-update step needs no extra pass and its
        KL term keeps the sampler's values.
        """
        needs_pass = self.old_source == "training" and (self.cfg.epochs > 1 or len(self.schedule) > 1)
        if not needs_pass:
            return ro.logp_old
        with torch.no_grad(), self.autocast():
            return [completion_logprobs(self.model, p, t, m, self.banned)
                    for p, t, m in zip(ro.prompts, ro.tokens, ro.masks)]

    def rollout(self, samples) -> Rollout:
        """Sample k completions of each prompt, score them, and return what the update needs."""
        ctx, cfg, fr = self.ctx, self.cfg, self.ctx.recipe.frames
        k = cfg.samples_per_prompt
        model, proc = self.generation_model(), ctx.selector.processor  # whole weights under FSDP
        model.eval()
        self.engine.load_weights(model)
        cands = [ctx.candidates(s) for s in samples]
        # Each prompt is encoded once: batch-1 for the scoring passes (which share its prefill),
        # batched by the engine.
        prompts = [selector_inputs(proc, s.question, c.selector, fr.select, fr.index_text, fr.question_position)
                   for s, c in zip(samples, cands)]
        comp = self.engine.generate(prompts, k, max_new_tokens=ctx.recipe.models.selector.max_new_tokens,
                                    temperature=cfg.temperature, top_p=cfg.top_p, generator=ctx.generator)
        for i, (s, c) in enumerate(zip(samples, cands)):
            self.picks[s.id] = selection_or_uniform(comp.texts[i * k], c.count, fr.select)[0]
        tokens, masks, olds = [], [], []
        for i in range(len(samples)):
            rows = slice(i * k, (i + 1) * k)
            width = max(int(comp.mask[rows].sum(0).nonzero().max()) + 1, 1) if comp.mask[rows].any() else 1
            tokens.append(comp.tokens[rows, :width])
            masks.append(comp.mask[rows, :width])
            olds.append(comp.logprobs[rows, :width])
        rep = [s for s in samples for _ in range(k)]
        self.scored_samples = rep  # names the sample of a non-finite reward (see TrainingStage.checked_step)
        scores, stats = self.score(rep, comp.texts, masks)
        ntok = float(sum(m.sum() for m in masks))
        stats["entropy"] = comp.entropy_sum / max(ntok, 1.0)
        stats["response_length"] = ntok / len(comp.texts)
        return Rollout(prompts=prompts, tokens=tokens, masks=masks, logp_old=olds,
                       rewards=torch.tensor(scores["total"], dtype=torch.float32), stats=stats, texts=comp.texts)

    def score(self, rep, texts: list[str], masks: list[torch.Tensor]) -> tuple[dict, dict]:
        """The rule file's scores of the P·k completions (`rep`: each one's sample), and stats.

        The answer model is asked only where the rules can use its prediction.
        """
        ctx, fr = self.ctx, self.ctx.recipe.frames
        counts = [ctx.candidates(s).count for s in rep]
        batch = {
            "completion": texts,
            "completion_tokens": np.array([int(row.sum()) for m in masks for row in m], dtype=np.int64),
            "answer": [s.answer for s in rep],
            "candidates": np.array(counts, dtype=np.int64),
            "select": np.array([effective_select(fr.select, c) for c in counts], dtype=np.int64),
            "prediction": [""] * len(rep),  # the option letter the reply names (evaluation's parser)
            "reply": [""] * len(rep),  # the answer model's raw reply
            "answer_tokens": np.zeros(len(rep), dtype=np.int64),  # the answer model's length
        }
        for name in ctx.extra_inputs:
            batch[name] = [s.meta.get(name) for s in rep]
        calls_before, saved_before = ctx.answerer.calls, ctx.answerer.saved
        if ctx.needs_prediction:
            requests, where = [], []
            for i in np.flatnonzero(ctx.scorer.prediction_needed(batch)):
                chosen = parse_selection(texts[i], counts[i], fr.select)
                if chosen is None:
                    continue
                s, c = rep[i], ctx.candidates(rep[i])
                requests.append(AnswerRequest.for_choice(s, c, chosen))
                where.append(i)
            for i, (reply, ntok) in zip(where, ctx.answerer.answer_with_tokens(requests)):
                batch["prediction"][i] = parse_answer(reply, rep[i].options) or ""
                batch["reply"][i], batch["answer_tokens"][i] = reply, ntok
        scores = ctx.scorer(batch)
        # ablated/NAME (what an ablated component would have scored) keeps its own prefix
        stats = {(name if name.startswith("ablated/") else f"reward/{name}"): float(np.mean(v))
                 for name, v in scores.items()}
        stats["answer_calls"] = ctx.answerer.calls - calls_before
        stats["answer_calls_saved"] = ctx.answerer.saved - saved_before
        return scores, stats

    def step(self, step: int) -> dict:
        cfg, ctx = self.cfg, self.ctx
        t0 = time.perf_counter()
        samples = self.batch_samples(step, cfg.prompts_per_step)
        with self.autocast():
            ro = self.rollout(samples)
        stats = ro.stats
        # π_ref: the frozen reference scores the completions, the prompt prefilled once and shared
        # by its k samples (a plain model: no wrapper to go through, at any world size).
        with reference_model(self.ref) as ref_model, torch.no_grad(), self.autocast():  # adapters in before autocast caches casts
            ref = [completion_logprobs(ref_model, p, t, m, self.banned, share_prefix=True)
                   for p, t, m in zip(ro.prompts, ro.tokens, ro.masks)]
        mask = pad_right(ro.masks)  # [P·k, L]
        logp_old, logp_ref = pad_right(self.old_logprobs(ro)).cpu(), pad_right(ref).cpu()
        bonus = None
        if cfg.index_entropy_coef > 0:
            tok = pad_right(ro.tokens, value=-1)  # [B·k, L]
            digits = torch.isin(tok, self.digit_ids) & (mask != 0)
            bonus = torch.where(digits, -cfg.index_entropy_coef * logp_old, 0.0)  # [B·k, L]
            stats["index_entropy"] = float(-(logp_old * digits).sum() / max(int(digits.sum()), 1))
        # Whitened over the WHOLE rollout (all processes), before it is cut into minibatches.
        adv = compute_advantages(
            ro.rewards, logp_old, logp_ref, mask, kl_coef=cfg.kl_coef, kl_clamp=cfg.kl_clamp,
            reward_clip=cfg.reward_clip, baseline=cfg.baseline, group_size=cfg.samples_per_prompt,
            token_bonus=bonus,
        )
        ctx.selector.model.train()
        losses, clipfrac, norms, first = [], [], [], {}
        for epoch in range(cfg.epochs):
            for i, batches in enumerate(self.schedule):
                # Before the first update the policy IS π_old: with π_old from the training forward,
                # its own detached log-probs make every ratio exactly 1 there.
                on_policy = epoch == 0 and i == 0 and self.old_source == "training"
                self.accumulate(batches, ro.prompts, ro.tokens, ro.masks, logp_old, adv.advantages, losses, clipfrac,
                                on_policy=on_policy, stats=first if epoch == 0 and i == 0 else None)
                norms.append(self.optimizer_step(cfg.grad_clip))
        total_tok = float(mask.sum())
        kl = float((adv.kl * mask).sum() / max(total_tok, 1.0))
        self.examples = ro.texts[:4]
        stats.update(loss=float(np.mean(losses)), grad_norm=float(np.mean(norms)), kl=kl,
                     clip_fraction=float(np.mean(clipfrac)), optimizer_steps=len(norms),
                     ratio_max_dev=first.get("ratio_max_dev", 0.0),
                     samples_per_s=len(ro.texts) / (time.perf_counter() - t0))
        return stats

    def checkpoint(self, next_step: int) -> None:
        super().checkpoint(next_step)
        self.write_picks()

    def save(self) -> None:
        self.write_picks()
        super().save()

    def write_picks(self) -> None:
        """Every process's latest picks per question, merged into one file by the main process."""
        merged: dict[str, list[int]] = {}
        for part in all_gather_objects(self.picks):
            merged.update(part)
        self.picks = merged
        if self.ctx.accelerator.is_main_process:
            write_json(picks_file(self.ctx.run_dir, self.id), merged, indent=None)

    def accumulate(self, batches, prompts, tokens, masks, logp_old, advantages, losses, clipfrac, *,
                   on_policy: bool = False, stats: dict | None = None) -> None:
        """Forward and backward of one optimiser step's micro-batches; gradients accumulate.

        logp_old, advantages: [P·k, L] for the whole rollout. Every piece's loss is a token mean;
        weighting it by its share of the step's tokens makes the step's gradient the token mean
        over all its micro-batches, so accumulation gives the update of one big batch.
        on_policy: the weights are still π_old's, so the forward's own detached log-probs are π_old.
        stats: when given, gets `ratio_max_dev`, the largest |ratio - 1| over these tokens.
        """
        k, model = self.cfg.samples_per_prompt, self.ctx.selector.model
        step_tok = max(sum(float(masks[p.prompt][p.rows].sum()) for b in batches for p in b), 1.0)
        for batch in batches:
            for piece in batch:
                t, m = tokens[piece.prompt][piece.rows], masks[piece.prompt][piece.rows]  # [n, L_i]
                rows, width = piece.global_rows(k), t.shape[1]
                with self.autocast():
                    logp = completion_logprobs(model, prompts[piece.prompt], t, m, self.banned)  # [n, L_i]
                old = logp.detach() if on_policy else logp_old[rows, :width].to(logp.device)
                loss, info = policy_loss(logp, old, advantages[rows, :width].to(logp.device),
                                         m.to(logp.device), clip_eps=self.cfg.clip_eps)
                if stats is not None:
                    stats["ratio_max_dev"] = max(stats.get("ratio_max_dev", 0.0), info["ratio_max_dev"])
                self.backward(loss * float(m.sum()) / step_tok)
                losses.append(float(loss.detach()))
                clipfrac.append(info.get("clip_fraction", 0.0))
