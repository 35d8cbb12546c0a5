"""GPU smoke benchmark: one RL step and one SFT step of viarl's real stages at the paper's scale.

Builds randomly initialised Qwen2.5-VL models from the 3B config in code (no download; viarl's
offline tokenizer), and runs `RLStage.step` and `SFTStage.step` once each at T=128 candidates,
N=8 picks, 112-px selector frames and 896-px answer frames, in bf16 compute over fp32 master
weights, with gradient checkpointing. Random models never write their end token, so every
rollout runs to `--new-tokens`. Prints each step's time, samples/s and peak memory; the last line
is RL samples/s against SFT samples/s, both measured here.

    python benchmarks/gpu_smoke.py                 # CUDA, the 3B config
    python benchmarks/gpu_smoke.py --tiny          # CPU, the tiny test config (seconds)
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from viarl.config.load import load_recipe
from viarl.data.sample import Sample
from viarl.models.loading import load_vlm
from viarl.models.reference import qwen25_vl_3b
from viarl.models.tiny import write_tiny_model
from viarl.rewards import load_rules
from viarl.policy.answerer import Answerer
from viarl.train.context import ModelBundle, RunContext
from viarl.train.metrics import MetricsLog
from viarl.train.rl_stage import RLStage
from viarl.train.sft_stage import SFTStage
from viarl.train.sharding import make_accelerator
from viarl.video.candidates import AnswerView, Candidates, selector_view
from viarl.video.memo import CandidateMemo
from viarl.video.decode import VideoInfo

ROOT = Path(__file__).resolve().parents[1]
# T, N, selector px, answer px, samples per prompt, prompts, new tokens, SFT batch
PAPER = dict(frames=128, select=8, selector_size=112, answer_size=896, k=8, prompts=2, new_tokens=128, sft_batch=4)
TINY = dict(frames=8, select=2, selector_size=56, answer_size=56, k=4, prompts=2, new_tokens=8, sft_batch=2)


def build_model(tiny_dir: Path, tiny: bool, device: str):
    """(model, processor): the tiny model as saved, or a random 3B-shaped model with its token ids."""
    model, proc = load_vlm(str(tiny_dir), device=device)
    if tiny:
        return model, proc
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    tok = proc.tokenizer
    ids = {k: tok.convert_tokens_to_ids(t) for k, t in (
        ("image_token_id", "<|image_pad|>"), ("video_token_id", "<|video_pad|>"),
        ("vision_start_token_id", "<|vision_start|>"), ("vision_end_token_id", "<|vision_end|>"))}
    config = {k: v for k, v in qwen25_vl_3b().items() if k not in ("architectures", "model_type", "dtype")}
    config.update(ids)
    config["text_config"].update(bos_token_id=model.config.text_config.bos_token_id,
                                 eos_token_id=model.config.text_config.eos_token_id,
                                 pad_token_id=model.config.text_config.pad_token_id)
    with torch.device(device):
        big = Qwen2_5_VLForConditionalGeneration(Qwen2_5_VLConfig(**config)).to(torch.float32)
    big.generation_config = model.generation_config
    # The tiny processor caps frames at 224 px; the paper's answer frames are 896 px.
    for p in (proc.image_processor, proc.video_processor):
        p.size = {"shortest_edge": 28 * 28, "longest_edge": 1024 * 28 * 28}
    return big.eval(), proc


def candidates(n: int, s: dict, rng: np.random.Generator) -> Candidates:
    """T random frames in both views (the selector's with its index drawn)."""
    big = rng.integers(0, 255, (s["frames"], s["answer_size"], s["answer_size"], 3), dtype=np.uint8)
    info = VideoInfo(num_frames=s["frames"], fps=1.0, duration=float(s["frames"]), width=s["answer_size"],
                     height=s["answer_size"])
    indices = np.arange(s["frames"])
    view = AnswerView("synthetic.mp4", indices, s["answer_size"], held=dict(enumerate(big)))
    return Candidates(indices, info, selector_view(big, s["selector_size"]), view)


def build_context(tmp: Path, tiny: bool, s: dict, device: str) -> RunContext:
    """A RunContext like `viarl run` builds, with in-memory models and synthetic frames."""
    tiny_dir = write_tiny_model(tmp / "tiny", "selector", seed=0)
    overrides = {
        "output_dir": tmp / "run", "models.selector.path": tiny_dir, "models.answer.path": tiny_dir,
        "models.selector.tiny_seed": "null", "models.selector.pretrain": "null", "models.answer.tiny_seed": "null",
        "models.answer.pretrain": "null", "data.final.test": "null", "data.final.shifted": "null",
        "data.synthetic": "null",
        "models.selector.max_new_tokens": s["new_tokens"], "models.selector.gradient_checkpointing": not tiny,
        "models.answer.gradient_checkpointing": not tiny, "frames.candidates": s["frames"],
        "frames.select": s["select"], "frames.selector_size": s["selector_size"],
        "frames.answer_size": s["answer_size"], "frames.index_text": "none",
        "rl.prompts_per_step": s["prompts"], "rl.samples_per_prompt": s["k"], "rl.minibatch_size": "null",
        "rl.lr": 4e-7, "sft.batch_size": s["sft_batch"], "sft.picks": "greedy", "sft.lr": 1e-6,
        "run.precision": "bf16", "run.device": "cpu" if device == "cpu" else "cuda",
        "rewards.file": ROOT / "rewards" / "viarl.rules",
    }
    recipe = load_recipe(ROOT / "recipes" / "needle.yaml", [f"{k}={v}" for k, v in overrides.items()])
    acc = make_accelerator("bf16", cpu=device == "cpu")
    bundles = [ModelBundle(*build_model(tiny_dir, tiny, str(acc.device))) for _ in range(2)]
    for b in bundles:
        if not tiny:
            b.model.gradient_checkpointing_enable()
    program = load_rules(recipe.rewards.file)
    rng = np.random.default_rng(0)
    n = max(s["prompts"], s["sft_batch"])
    samples = [Sample(id=f"q{i}", video=Path(f"synthetic/{i}.mp4"), question="What colour was the large shape?",
                      options=("red", "green", "blue", "white"), answer="ABCD"[i % 4], question_type="needle")
               for i in range(n)]
    ctx = RunContext(
        recipe=recipe, run_dir=tmp / "run", accelerator=acc, selector=bundles[0], answer=bundles[1],
        train=samples, eval=[], truth=None, frame_cache=None, scorer=program.compile(dict(recipe.rewards.params)),
        needs_prediction="prediction" in program.needs, extra_inputs=[],
        answerer=Answerer(bundles[1].model, bundles[1].processor, max_new_tokens=4,
                          batch_size=recipe.evaluation.answer_batch_size),
        metrics=MetricsLog(tmp / "run" / "metrics.jsonl"), generator=torch.Generator().manual_seed(0),
        state={"done": [], "models": {}})
    (tmp / "run").mkdir(parents=True, exist_ok=True)
    ctx._candidates = CandidateMemo(2**40)  # the frame memo `ctx.candidates` reads before it would decode a video
    for sample in samples:  # key: (video, question if pre-filtered)
        ctx._candidates.get((str(sample.video), None), lambda: candidates(s["frames"], s, rng))
    return ctx


def peak_memory(device: str) -> str:
    """Peak memory so far: CUDA allocations since the last reset, or the process's peak RSS."""
    if device == "cpu":
        return f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB"
    return f"peak CUDA {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB"


def timed_step(stage, device: str, samples: int) -> float:
    """Run one step of `stage`; print its numbers and return samples/s."""
    if device != "cpu":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    stats = stage.step(0)
    if device != "cpu":
        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    print(f"{stage.kind} step: {dt:.2f} s, {samples} samples, {samples / dt:.2f} samples/s, "
          f"loss {stats['loss']:.4f}, grad norm {stats['grad_norm']:.3g}, {peak_memory(device)}", flush=True)
    return samples / dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiny", action="store_true", help="the tiny test config on CPU (for the test suite)")
    ap.add_argument("--new-tokens", type=int, help="rollout length (default 128; tiny 8)")
    args = ap.parse_args()
    s = dict(TINY if args.tiny else PAPER)
    if args.new_tokens:
        s["new_tokens"] = args.new_tokens
    device = "cpu" if args.tiny else "cuda"
    if device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no CUDA device: run with --tiny on CPU")
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        ctx = build_context(Path(tmp), args.tiny, s, device)
        sel = ctx.selector.model
        print(f"models: {sum(p.numel() for p in sel.parameters()) / 1e9:.3f} B parameters each, "
              f"fp32 masters, bf16 compute; T={s['frames']} N={s['select']} at {s['selector_size']}/"
              f"{s['answer_size']} px; RL {s['prompts']} prompts × {s['k']} samples × {s['new_tokens']} "
              f"tokens; SFT batch {s['sft_batch']}; device {ctx.accelerator.device}", flush=True)
        rl = RLStage(ctx, "c1-rl", 1)
        rl.setup()
        rl_rate = timed_step(rl, device, s["prompts"] * s["k"])
        rl.ref = None  # the next stage does not need it
        sft = SFTStage(ctx, "c1-sft", 1)
        sft.setup()
        sft_rate = timed_step(sft, device, s["sft_batch"])
    print(f"RL samples/s vs SFT samples/s: {rl_rate / sft_rate:.2f}x")


if __name__ == "__main__":
    main()
