"""The GPU check's phases. Each takes (scale, tmp folder) and returns one JSON-able dict.

`status` is "ok", or "differs" where a comparison did not hold (the numbers say by how much);
a phase that raises is reported by the driver as "error" with the exception's last line.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from gpu_smoke_setup import (Meter, build_model, config_of, context_for, forcing, frames, plan_for, plan_item,
                             recipe_for)

BF16 = torch.bfloat16


def versions(scale, tmp: Path) -> dict:
    """Library versions, the device, and the rope convention on a left-padded batch: the positions
    viarl computes for a padded row equal the row's own, and the next position of each row."""
    import accelerate
    import transformers

    from viarl.models.loading import resolve_attention
    from viarl.policy.sampler import prompt_positions, selector_batch, unwrap

    out = {"torch": torch.__version__, "transformers": transformers.__version__, "accelerate": accelerate.__version__,
           "device": torch.cuda.get_device_name() if scale.device == "cuda" else "cpu",
           "attention_auto": resolve_attention("auto", scale.device)}
    try:
        import flash_attn
        out["flash_attn"] = flash_attn.__version__
    except ImportError:
        out["flash_attn"] = None
    model, proc, _ = build_model(scale, "selector", tmp, BF16)
    base = unwrap(model)
    imgs = [frames(scale.frames, scale.selector_size, scale.selector_size, 1), frames(scale.frames // 2, scale.selector_size,
                                                                                     scale.selector_size, 2)]
    qs = ["What colour was the large shape that appeared briefly in the video?", "Which colour?"]
    batch = selector_batch(proc, qs, imgs, scale.select, "none").to(scale.device)
    pos, nxt = prompt_positions(base, batch)  # [3, 2, P], [2]
    worst = 0
    for b in range(2):
        alone = selector_batch(proc, [qs[b]], [imgs[b]], scale.select, "none").to(scale.device)
        pos1, nxt1 = prompt_positions(base, alone)
        valid = batch["attention_mask"][b].bool()
        worst = max(worst, int((pos[:, b, valid] - pos1[:, 0]).abs().max()), int((nxt[b] - nxt1[0]).abs()))
    out["rope_padded_vs_alone_max_diff"] = worst
    out["status"] = "ok" if worst == 0 else "differs"
    return out


def decode(scale, tmp: Path) -> dict:
    """Greedy decode of two prompts in one left-padded batch vs each alone, at three aspect ratios:
    the same tokens, and log-probs within bf16 rounding; and the batched decode's speed-up."""
    from viarl.policy.sampler import sample, selector_batch

    model, proc, _ = build_model(scale, "selector", tmp, BF16)
    s = scale.selector_size
    out, equal, worst, scale_lp, t_batch, t_single = {}, True, 0.0, 0.0, 0.0, 0.0
    qs = ["What colour was the large shape that appeared briefly in the video?", "Which colour?"]
    for w, h in ((s, s), (s * 3 // 2, s), (s, s * 3 // 2)):
        imgs = [frames(scale.frames, w, h, 3), frames(scale.frames, w, h, 4)]
        with torch.autocast(scale.device, dtype=BF16):
            t0 = time.perf_counter()
            both = sample(model, proc, selector_batch(proc, qs, imgs, scale.select, "none"), 1,
                          max_new_tokens=scale.decode_tokens, temperature=0.0)
            t_batch += time.perf_counter() - t0
            for b in range(2):
                t0 = time.perf_counter()
                one = sample(model, proc, selector_batch(proc, [qs[b]], [imgs[b]], scale.select, "none"), 1,
                             max_new_tokens=scale.decode_tokens, temperature=0.0)
                t_single += time.perf_counter() - t0
                n = min(one.tokens.shape[1], both.tokens.shape[1])
                same = torch.equal(one.tokens[0, :n], both.tokens[b, :n])
                # Up to the first token where they part (near-ties of a random model can flip in bf16).
                upto = n if same else int((one.tokens[0, :n] != both.tokens[b, :n]).nonzero()[0])
                gap = (one.logprobs[0, :upto] - both.logprobs[b, :upto]).abs()
                worst = max(worst, float(gap.max()) if upto else 0.0)
                scale_lp = max(scale_lp, float(one.logprobs[0, :upto].abs().max()) if upto else 0.0)
                equal &= same
                out[f"{w}x{h}_row{b}_same_tokens"] = same
    out.update(max_logprob_diff=round(worst, 5), batched_s=round(t_batch, 3), single_s=round(t_single, 3),
               batched_speedup=round(t_single / max(t_batch, 1e-9), 2))
    # bf16 keeps about 3 significant digits: a log-prob of -12 (random logits over 152k tokens) moves by
    # a few hundredths between batch shapes, so the gap is judged against the log-probs' size.
    out["max_logprob_rel_diff"] = round(worst / max(scale_lp, 1e-9), 5)
    out["status"] = "ok" if equal and out["max_logprob_rel_diff"] < 0.01 else "differs"
    return out


def old_logprobs(scale, tmp: Path) -> dict:
    """π_old as the sampler gives it (the inference copy, compute dtype, KV cache) vs the training
    forward's (fp32 masters under bf16 autocast): how far apart, and how many tokens the gap alone
    would clip at ε = 0.2. This is why `rl.old_logprobs: auto` takes the training forward's."""
    from viarl.policy.sampler import banned_token_ids, sample, selector_inputs
    from viarl.train.logprobs import completion_logprobs
    from viarl.train.precision import inference_copy

    master, proc, _ = build_model(scale, "selector", tmp, torch.float32, scale.train_layers[0])
    twin = inference_copy(master, "bf16")
    banned = banned_token_ids(proc)
    gaps = []
    for p in range(2):
        inputs = selector_inputs(proc, "What colour was the large shape?", frames(scale.frames, scale.selector_size,
                                                                               scale.selector_size, p), scale.select, "none")
        with torch.autocast(scale.device, dtype=BF16):
            comp = sample(twin, proc, inputs, scale.k, max_new_tokens=scale.decode_tokens,
                          generator=torch.Generator().manual_seed(p))
            with torch.no_grad():
                train = completion_logprobs(master, inputs, comp.tokens, comp.mask, banned).float().cpu()
        gaps.append((comp.logprobs - train)[comp.mask > 0])
    gap = torch.cat(gaps)
    return {"tokens": int(gap.numel()), "mean_abs_diff": round(float(gap.abs().mean()), 5),
            "max_abs_diff": round(float(gap.abs().max()), 5),
            "clipped_share_at_0.2": round(float(((gap.exp() - 1).abs() > 0.2).float().mean()), 4), "status": "ok"}


def rollout(scale, tmp: Path) -> dict:
    """The RL rollout's decode: prompts × k samples × new tokens through the rollout engine, beside
    the plan's rollout KV-cache item."""
    from viarl.policy.engine import HFEngine
    from viarl.policy.sampler import selector_inputs

    model, proc, config = build_model(scale, "selector", tmp, BF16)
    prompts = [selector_inputs(proc, "What colour was the large shape?", frames(scale.frames, scale.selector_size,
                                                                             scale.selector_size, p), scale.select, "none")
               for p in range(scale.prompts)]
    engine = HFEngine(proc)
    engine.load_weights(model)
    out: dict = {"rows": scale.prompts * scale.k, "new_tokens": scale.new_tokens}
    with torch.autocast(scale.device, dtype=BF16), Meter(scale.device)(out, "rollout"):
        comp = engine.generate(prompts, scale.k, max_new_tokens=scale.new_tokens, temperature=1.0, top_p=1.0,
                               generator=torch.Generator().manual_seed(0))
    out["tokens_per_s"] = round(float(comp.mask.sum()) / out["rollout_s"], 1)
    est = plan_for(recipe_for(scale, tmp), config, config)
    out["plan_phase_gib"] = round(plan_item(est, "phase: rollout KV cache"), 2)
    out["status"] = "ok"
    return out


def answer(scale, tmp: Path) -> dict:
    """The answer model's batch: N frames at the answer size per request, under sdpa and, where it
    is installed, flash attention, beside the plan's answer-prefill item."""
    from viarl.policy.answerer import AnswerRequest, Answerer

    out: dict = {}
    kinds = ["sdpa"]
    try:
        import flash_attn  # noqa: F401
        if scale.device == "cuda":
            kinds.append("flash_attention_2")
    except ImportError:
        out["flash_attention_2"] = "not installed"
    config = None
    for attn in kinds:
        model, proc, config = build_model(scale, "answer", tmp, BF16, attn=attn)
        requests = [AnswerRequest(("q", i), frames(scale.select, scale.answer_size, scale.answer_size, 10 + i),
                                  "What colour was the large shape?", ("red", "green", "blue", "white"))
                    for i in range(scale.answer_batch)]
        answerer = Answerer(model, proc, max_new_tokens=8, batch_size=scale.answer_batch)
        with torch.autocast(scale.device, dtype=BF16), Meter(scale.device)(out, f"answer_{attn}"):
            answerer.answer_with_tokens(requests)
        del model, answerer
        if scale.device == "cuda":
            torch.cuda.empty_cache()
    sel_config = config_of(scale, "selector", tmp)
    est = plan_for(recipe_for(scale, tmp), sel_config, config)
    out["plan_phase_gib"] = round(plan_item(est, "phase: answer prefill"), 2)
    out["status"] = "ok"
    return out


def reference(scale, tmp: Path) -> dict:
    """The RL reference pass: each prompt prefilled once, its k completions of new_tokens scored
    over that one prefill (the reference in the compute dtype, no gradient)."""
    from viarl.policy.sampler import banned_token_ids, selector_inputs
    from viarl.train.logprobs import completion_logprobs

    model, proc, _ = build_model(scale, "selector", tmp, BF16)
    banned = banned_token_ids(proc)
    rng = torch.Generator().manual_seed(0)
    prompts = [selector_inputs(proc, "What colour was the large shape?", frames(scale.frames, scale.selector_size,
                                                                             scale.selector_size, p), scale.select, "none")
               for p in range(scale.prompts)]
    allowed = torch.tensor([i for i in range(len(proc.tokenizer)) if i not in set(banned)])  # never a vision token
    out: dict = {"rows": scale.prompts * scale.k, "tokens": scale.new_tokens}
    with torch.no_grad(), torch.autocast(scale.device, dtype=BF16), Meter(scale.device)(out, "reference"):
        for p in prompts:
            tokens = allowed[torch.randint(0, len(allowed), (scale.k, scale.new_tokens), generator=rng)]
            completion_logprobs(model, p, tokens, torch.ones(scale.k, scale.new_tokens), banned, share_prefix=True)
    out["status"] = "ok"
    return out


def _stage_models(scale, tmp: Path):
    sel_layers, ans_layers = scale.train_layers
    sel = build_model(scale, "selector", tmp, torch.float32, sel_layers)
    ans = build_model(scale, "answer", tmp, BF16, ans_layers)
    if scale.name == "paper":
        sel[0].gradient_checkpointing_enable()
    return sel, ans


def train_step(scale, tmp: Path) -> dict:
    """One whole RL step of the real stage (rollout with forced valid picks, answer model, reference,
    policy loss and update) with the train-scale models, beside the plan's RL peak for them."""
    from viarl.train.rl_stage import RLStage

    (sm, sp, sc), (am, ap, ac) = _stage_models(scale, tmp)
    recipe = recipe_for(scale, tmp)
    ctx = context_for(scale, tmp, recipe, (sm, sp), (am, ap))
    stage = RLStage(ctx, "c1-rl", 1)
    out: dict = {"selector_layers": sc["text_config"]["num_hidden_layers"],
                 "answer_layers": ac["text_config"]["num_hidden_layers"]}
    with Meter(scale.device)(out, "setup"):
        stage.setup()
    stage.engine.generate = forcing(stage.engine.generate, scale)
    with Meter(scale.device)(out, "rl_step"):
        stats = stage.step(0)
    out.update(answer_calls=stats["answer_calls"], loss=round(stats["loss"], 5), ratio_max_dev=stats["ratio_max_dev"],
               plan_rl_peak_gib=round(plan_for(recipe, sc, ac).peak("rl") / 2**30, 2))
    out["status"] = "ok" if stats["answer_calls"] > 0 and np.isfinite(stats["loss"]) else "differs"
    return out


def fsdp(scale, tmp: Path) -> dict:
    """The FSDP2 path at world size 1 (run under `accelerate launch` with an FSDP2 config): prepare
    (shard), refresh the whole-weight twin, one RL step, a sharded checkpoint, and a resume into a
    new stage that must hold the checkpointed weights."""
    from viarl.train.rl_stage import RLStage
    from viarl.train.sharding import is_sharded

    (sm, sp, sc), (am, ap, ac) = _stage_models(scale, tmp)
    # The path, not the speed, is checked here: a shorter rollout keeps the phase within its cap.
    recipe = recipe_for(scale, tmp, **({"models.selector.max_new_tokens": 128, "rl.prompts_per_step": 2}
                                       if scale.name == "paper" else {}))
    ctx = context_for(scale, tmp, recipe, (sm, sp), (am, ap))
    if not is_sharded(ctx.accelerator):
        raise RuntimeError("not under FSDP: run this phase through `accelerate launch` with an FSDP2 config")
    out: dict = {}
    stage = RLStage(ctx, "c1-rl", 1)
    meter = Meter(scale.device)
    with meter(out, "prepare"):
        stage.setup()
    stage.engine.generate = forcing(stage.engine.generate, scale)
    with meter(out, "refresh"):
        stage.generation_model()
    with meter(out, "rl_step"):
        stats = stage.step(0)
    with meter(out, "checkpoint"):
        stage.checkpoint(1)
    saved = {n: p.detach().float().cpu().clone() for n, p in stage.generation_model().named_parameters()}
    again = RLStage(ctx, "c1-rl", 1)
    with meter(out, "resume"):
        again.setup()
        next_step = again.resume()
    back = dict(again.generation_model().named_parameters())
    worst = max(float((back[n].detach().float().cpu() - v).abs().max()) for n, v in saved.items())
    out.update(answer_calls=stats["answer_calls"], next_step=next_step, resumed_max_weight_diff=worst,
               plan_rl_peak_gib=round(plan_for(recipe, sc, ac, "fsdp").peak("rl") / 2**30, 2))
    out["status"] = "ok" if next_step == 1 and worst == 0.0 else "differs"
    return out


def evaluation(scale, tmp: Path) -> dict:
    """The evaluation rate: `evaluate` over needle videos (written here) with a random selector
    (which falls back to uniform picks) and the answer model, questions per second."""
    from viarl.eval.evaluate import evaluate
    from viarl.data.loaders import load_dataset
    from viarl.policy.answerer import Answerer
    from viarl.policy.selector import TrainedSelector
    from viarl.synth.needle import make_needle_dataset

    data = tmp / "needle"
    make_needle_dataset(data, videos=scale.eval_questions, frames=max(2 * scale.frames, 48), fps=24, seed=0,
                        split="test", size=(224, 128))
    samples = load_dataset("mlvu", data).samples
    sel, sp, _ = build_model(scale, "selector", tmp, BF16)
    ans, ap, _ = build_model(scale, "answer", tmp, BF16)
    selector = TrainedSelector(sel, sp, index_text="none", max_new_tokens=min(scale.new_tokens, 128))
    out: dict = {"questions": len(samples)}
    with torch.autocast(scale.device, dtype=BF16), Meter(scale.device)(out, "evaluate"):
        result = evaluate(samples, selector, Answerer(ans, ap, max_new_tokens=8, batch_size=scale.answer_batch),
                          candidates=scale.frames, select=scale.select, selector_size=scale.selector_size,
                          answer_size=scale.answer_size, progress=False, batch_size=scale.answer_batch)
    out["questions_per_s"] = round(len(samples) / out["evaluate_s"], 3)
    out["status"] = "ok" if result.n == len(samples) else "differs"
    return out


PHASES = {"versions": versions, "decode": decode, "old_logprobs": old_logprobs, "rollout": rollout,
          "answer": answer, "reference": reference, "train_step": train_step, "fsdp": fsdp,
          "evaluation": evaluation}
