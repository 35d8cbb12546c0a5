"""What the GPU check's phases share: the scales, the models, synthetic frames, a run context, the plan.

`PAPER` is the paper's shapes on one 80 GB GPU: the selector built from Qwen2.5-VL-3B's config and
the answer model from 7B's, with random weights and viarl's offline tokenizer (no download).
Phases that only run forward use them at full depth; phases that train hold fp32 masters, Adam
moments and the other model at once, which for 3B + 7B is more than one GPU has, so there the
text models keep their widths (what sets the cost per token and layer) and fewer layers
(`train_layers`). `TINY` is the same with the tiny test models on the CPU (`--tiny`).
"""

from __future__ import annotations

import copy
import resource
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Scale:
    name: str
    device: str
    frames: int  # T
    select: int  # N
    selector_size: int
    answer_size: int
    prompts: int  # RL prompts per step
    k: int  # samples per prompt
    new_tokens: int  # rollout length (random models never write their end token)
    answer_batch: int
    train_layers: tuple[int | None, int | None]  # (selector, answer) text layers where a phase trains
    infer_layers: tuple[int | None, int | None]  # the same where a phase only runs forward (None: all)
    eval_questions: int
    decode_tokens: int  # the batched-vs-single decode comparison's length


PAPER = Scale("paper", "cuda", frames=128, select=8, selector_size=112, answer_size=896, prompts=8, k=8,
              new_tokens=512, answer_batch=8, train_layers=(12, 4), infer_layers=(None, None), eval_questions=16,
              decode_tokens=64)
TINY = Scale("tiny", "cpu", frames=8, select=2, selector_size=56, answer_size=56, prompts=2, k=4,
             new_tokens=16, answer_batch=2, train_layers=(None, None), infer_layers=(None, None), eval_questions=4,
             decode_tokens=8)


def tiny_dirs(tmp: Path) -> dict[str, Path]:
    """The tiny selector and answer models (their processor is every scale's processor)."""
    from viarl.models.tiny import write_tiny_model

    out = {}
    for role in ("selector", "answer"):
        out[role] = tmp / f"tiny-{role}"
        if not (out[role] / "config.json").exists():
            write_tiny_model(out[role], role, seed=0)
    return out


def config_of(scale: Scale, role: str, tmp: Path, layers: int | None = None) -> dict:
    """The model config (hub config.json layout) a phase builds `role` from."""
    if layers is None:
        layers = scale.infer_layers[0 if role == "selector" else 1]
    import json

    if scale.name == "tiny":
        return json.loads((tiny_dirs(tmp)[role] / "config.json").read_text())
    from viarl.models.reference import qwen25_vl_3b, qwen25_vl_7b

    config = copy.deepcopy(qwen25_vl_3b() if role == "selector" else qwen25_vl_7b())
    if layers is not None:
        config["text_config"]["num_hidden_layers"] = layers
    return config


def build_model(scale: Scale, role: str, tmp: Path, dtype: torch.dtype, layers: int | None = None,
                attn: str = "sdpa"):
    """(model, processor, config dict): a random model of `role` at `scale`, on its device, in `dtype`,
    with `layers` text layers (default: the scale's depth for forward-only phases)."""
    if layers is None:
        layers = scale.infer_layers[0 if role == "selector" else 1]
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    from viarl.models.loading import load_vlm

    folder = tiny_dirs(tmp)[role]
    tiny, proc = load_vlm(str(folder), device=scale.device)
    config = config_of(scale, role, tmp, layers)
    if scale.name == "tiny":
        return tiny.to(dtype).eval(), proc, config
    tok = proc.tokenizer  # the offline tokenizer's special ids replace the hub ids
    for key, token in (("image_token_id", "<|image_pad|>"), ("video_token_id", "<|video_pad|>"),
                       ("vision_start_token_id", "<|vision_start|>"), ("vision_end_token_id", "<|vision_end|>")):
        config[key] = tok.convert_tokens_to_ids(token)
    text = tiny.config.text_config
    config["text_config"].update(bos_token_id=text.bos_token_id, eos_token_id=text.eos_token_id,
                                 pad_token_id=text.pad_token_id)
    cfg = Qwen2_5_VLConfig(**{k: v for k, v in config.items() if k not in ("architectures", "model_type", "dtype")})
    with torch.device(scale.device):
        model = Qwen2_5_VLForConditionalGeneration._from_config(cfg, attn_implementation=attn, dtype=dtype)
    model.generation_config = tiny.generation_config
    # The tiny processor caps frames at 224 px; the paper's answer frames are 896 px.
    for p in (proc.image_processor, proc.video_processor):
        p.size = {"shortest_edge": 28 * 28, "longest_edge": 1024 * 28 * 28}
    del tiny
    return model.eval(), proc, config


def frames(n: int, width: int, height: int, seed: int = 0) -> list:
    """n random RGB frames of width × height."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    return [Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)) for _ in range(n)]


def candidates(scale: Scale, rng: np.random.Generator):
    """T random frames in both views (the selector's with its index drawn), as `Candidates`."""
    from viarl.video.candidates import AnswerView, Candidates, selector_view
    from viarl.video.decode import VideoInfo

    big = rng.integers(0, 255, (scale.frames, scale.answer_size, scale.answer_size, 3), dtype=np.uint8)
    info = VideoInfo(num_frames=scale.frames, fps=1.0, duration=float(scale.frames), width=scale.answer_size,
                     height=scale.answer_size)
    indices = np.arange(scale.frames)
    view = AnswerView("synthetic.mp4", indices, scale.answer_size, held=dict(enumerate(big)))
    return Candidates(indices, info, selector_view(big, scale.selector_size), view)


def recipe_for(scale: Scale, tmp: Path, **extra):
    """recipes/needle.yaml at the scale's shapes, bf16 over fp32 masters."""
    from viarl.config.load import load_recipe

    dirs = tiny_dirs(tmp)
    paper = scale.name == "paper"
    overrides = {
        "output_dir": tmp / "run", "models.selector.path": dirs["selector"], "models.answer.path": dirs["answer"],
        "models.selector.tiny_seed": "null", "models.selector.pretrain": "null", "models.answer.tiny_seed": "null",
        "models.answer.pretrain": "null", "data.final.test": "null", "data.final.shifted": "null",
        "data.synthetic": "null", "models.selector.max_new_tokens": scale.new_tokens,
        "models.answer.max_new_tokens": 8, "models.selector.gradient_checkpointing": paper,
        "models.answer.gradient_checkpointing": paper, "frames.candidates": scale.frames,
        "frames.select": scale.select, "frames.selector_size": scale.selector_size,
        "frames.answer_size": scale.answer_size, "frames.index_text": "none",
        "rl.prompts_per_step": scale.prompts, "rl.samples_per_prompt": scale.k, "rl.minibatch_size": scale.k,
        "rl.lr": 4e-7, "sft.batch_size": scale.answer_batch, "sft.picks": "rollout", "sft.lr": 1e-6,
        "evaluation.answer_batch_size": scale.answer_batch, "run.precision": "bf16",
        "run.device": "cpu" if scale.device == "cpu" else "cuda", "rewards.file": ROOT / "rewards" / "viarl.rules",
        "stages.before": "[]", "stages.cycle": "[rl,sft]", **extra,
    }
    return load_recipe(ROOT / "recipes" / "needle.yaml", [f"{k}={v}" for k, v in overrides.items()])


def plan_for(recipe, sel_config: dict, ans_config: dict, sharding: str = "ddp"):
    """`viarl plan`'s estimate for one GPU of 80 GiB, from the very configs the phase built."""
    from viarl.plan.memory import Settings, estimate
    from viarl.plan.shapes import ModelShape

    return estimate(ModelShape.from_config(sel_config, "selector"), ModelShape.from_config(ans_config, "answer"),
                    Settings.from_recipe(recipe, 1, sharding), 80)


def plan_item(est, prefix: str, stage: str = "rl") -> float | None:
    """GiB of the estimate's item whose name starts with `prefix` (None when it has none)."""
    for item in est.items:
        if item.name.strip().startswith(prefix):
            return item.per_stage.get(stage, 0.0) / 2**30
    return None


def forcing(generate, scale: Scale, seed: int = 0):
    """`generate` with every completion that names no valid frames given a random valid pick in its
    text (its tokens, which the loss reads, stay as sampled), so the answer model is asked as it
    would be for a trained selector: a random model never writes a valid pick."""
    from viarl.selection import parse_selection

    rng = np.random.default_rng(seed)

    def wrapped(*a, **kw):
        comp = generate(*a, **kw)
        for i, text in enumerate(comp.texts):
            if parse_selection(text, scale.frames, scale.select) is None:
                picks = sorted(rng.choice(scale.frames, scale.select, replace=False).tolist())
                comp.texts[i] = f"<think>{text}</think><index>{', '.join(map(str, picks))}</index>"
        return comp
    return wrapped


class Meter:
    """Wall time and peak memory of a block: CUDA's peak allocation above the block's start, or the
    process's peak RSS on the CPU (which cannot be reset, so it includes what came before)."""

    def __init__(self, device: str):
        self.device = device

    @contextmanager
    def __call__(self, into: dict, name: str):
        cuda = self.device != "cpu"
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            start = torch.cuda.memory_allocated()
        t0 = time.perf_counter()
        yield
        if cuda:
            torch.cuda.synchronize()
        into[f"{name}_s"] = round(time.perf_counter() - t0, 3)
        if cuda:
            into[f"{name}_peak_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
            into[f"{name}_phase_gib"] = round((torch.cuda.max_memory_allocated() - start) / 2**30, 2)
        else:
            into[f"{name}_peak_rss_gib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)


def context_for(scale: Scale, tmp: Path, recipe, selector, answer, accelerator=None):
    """A RunContext like `viarl run` builds, with these in-memory (model, processor) pairs and
    synthetic candidate frames for max(prompts, answer batch) training questions."""
    from viarl.data.sample import Sample
    from viarl.policy.answerer import Answerer
    from viarl.rewards import load_rules
    from viarl.train.context import ModelBundle, RunContext
    from viarl.train.metrics import MetricsLog
    from viarl.train.sharding import make_accelerator
    from viarl.video.memo import CandidateMemo

    acc = accelerator or make_accelerator("bf16", cpu=scale.device == "cpu")
    program = load_rules(recipe.rewards.file)
    run = Path(recipe.output_dir)
    run.mkdir(parents=True, exist_ok=True)
    n = max(scale.prompts, scale.answer_batch)
    samples = [Sample(id=f"q{i}", video=Path(f"synthetic/{i}.mp4"), question="What colour was the large shape?",
                      options=("red", "green", "blue", "white"), answer="ABCD"[i % 4], question_type="needle")
               for i in range(n)]
    bundles = ModelBundle(*selector), ModelBundle(*answer)
    ctx = RunContext(
        recipe=recipe, run_dir=run, accelerator=acc, selector=bundles[0], answer=bundles[1],
        train=samples, eval=[], truth=None, frame_cache=None, scorer=program.compile(dict(recipe.rewards.params)),
        needs_prediction="prediction" in program.needs, extra_inputs=[],
        answerer=Answerer(bundles[1].model, bundles[1].processor, max_new_tokens=8,
                          batch_size=recipe.evaluation.answer_batch_size),
        metrics=MetricsLog(run / "metrics.jsonl"), generator=torch.Generator().manual_seed(0),
        state={"done": [], "models": {}})
    ctx._candidates = CandidateMemo(2**40)  # the frame memo `ctx.candidates` reads before it would decode
    rng = np.random.default_rng(0)
    for sample in samples:  # key: (video, question if pre-filtered)
        ctx._candidates.get((str(sample.video), None), lambda: candidates(scale, rng))
    return ctx
