"""Grounding pretraining of a tiny selector: the CPU stand-in for a pretrained VLM.

`pretrain_selector(base, out, ...)` takes a tiny random selector (`viarl models tiny`), or the
pretrained answer model of the same architecture (`start_from: answer`, whose vision already
tells colours and sizes apart), and teaches it, by supervised next-token loss, to answer generic grounding questions about still clips
(`viarl.synth.stills`): the prompt is exactly the selector prompt the pipeline uses (T frames with
their drawn index, the question, the same system message), the target a well-formed completion
whose first index is the frame the question is about. What the selector learns is the generic
skill a hub Qwen2.5-VL already has: tie what a frame shows to that frame's index. It never sees a
needle video, question or truth file.

The result is saved with `save_pretrained` next to a `viarl_pretrain.json` that records how it
was made, so a recipe can name it like any other checkpoint and a second run reuses it.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from viarl.atomic import atomic_dir, write_json
from viarl.train.finite import require_finite_weights
from viarl.console import progress
from viarl.errors import UserError
from viarl.models.loading import load_vlm
from viarl.synth.stills import make_clip
from viarl.train.optim import build_optimizer, build_scheduler, clip_and_step
from viarl.policy.prompts import frame_marks, selector_messages, selector_target
from viarl.policy.selector import TrainedSelector
from viarl.train.supervised import supervised_batch, supervised_loss
from viarl.video.candidates import selector_view

MANIFEST = "viarl_pretrain.json"
# Bumped whenever the clips or targets change, so a model made by an older viarl is not reused.
CLIPS_VERSION = 3


@dataclass(frozen=True)
class PretrainSettings:
    """How a grounding-pretrained selector is made (all of it is recorded in its manifest)."""

    steps: int = 1600
    batch_size: int = 8
    lr: float = 2e-3
    warmup_steps: int = 50
    seed: int = 0
    candidates: int = 8
    select: int = 2
    selector_size: int = 56
    clip_size: int = 112
    index_text: str = "after"
    question_position: str = "after"
    think_words: int = 2
    think_frames: bool = False
    filler_words: int = 0
    tasks: tuple[str, ...] = ("large_shape", "colour", "brightest")
    # Brightness is the feature a random vision tower passes through most directly, so the
    # frame-to-index binding forms on it first (200-400 steps); other tasks then reuse it.
    first_task: str = "brightest"
    first_task_steps: int = 600
    # "random": a fresh tiny model; "answer": the pretrained answer model (same architecture)
    start_from: str = "random"
    clips_version: int = CLIPS_VERSION


def clip_example(rng: np.random.Generator, s: PretrainSettings, step: int | None = None):
    """(messages, selector-view images, target text, clip) for one freshly drawn clip.

    The target lists the asked-about frame first, then the next most relevant frames (partial
    matches, e.g. the asked-about shape drawn small), as a model that has found the frame and
    fills its budget with the best of the rest would.
    """
    early = step is not None and step < s.first_task_steps
    clip = make_clip(rng, s.candidates, s.clip_size, task=s.first_task if early else str(rng.choice(s.tasks)),
                     filler_words=s.filler_words)
    view = selector_view(clip.frames, s.selector_size)  # [T, h, w, 3], index drawn
    images = [Image.fromarray(f) for f in view]
    think = frame_marks(s.candidates, clip.target) if s.think_frames else None
    target = selector_target(clip.question, list(clip.ranking[: s.select]), s.think_words, think)
    return (selector_messages(clip.question, s.candidates, s.select, s.index_text, s.question_position),
            images, target, clip)


def held_out_accuracy(model, processor, s: PretrainSettings, n: int = 64) -> float:
    """Share of fresh clips (a seed stream training never draws) whose greedy pick holds the target."""
    rng = np.random.default_rng([s.seed, 0x686F6C64])
    items = [clip_example(rng, s) for _ in range(n)]
    sel = TrainedSelector(model, processor, index_text=s.index_text, max_new_tokens=target_tokens(s),
                          question_position=s.question_position)
    # TrainedSelector reads a sample's .question and a candidate set's .selector images and .count.
    questions = [SimpleNamespace(question=c.question) for *_, c in items]
    views = [SimpleNamespace(selector=im, count=len(im)) for _, im, _, _ in items]
    picks = sel.select(questions, views, s.select)
    return float(np.mean([c.target in p.indices for p, (*_, c) in zip(picks, items)]))


def target_tokens(s: PretrainSettings) -> int:
    """Tokens a greedy pick may need: the per-frame marks take 3 per frame (`0n,`)."""
    return 3 * s.candidates + 16 if s.think_frames else 24


def pretrain_selector(base_dir, out_dir, settings: PretrainSettings = PretrainSettings(),
                      on_eval=None, eval_every: int = 0) -> dict:
    """Grounding-pretrain the selector at `base_dir`, save it to `out_dir`; returns the manifest.

    The manifest also keeps `base_dir`'s own pretraining manifest (`base_manifest`, None for a
    random model), so a selector grown from an answer model that has since been remade is not
    reused (`check_pretrained`). `on_eval(step, model, processor)` is called every `eval_every`
    steps (experiments use it to trace learning curves).
    """
    s = settings
    torch.manual_seed(s.seed)
    model, processor = load_vlm(str(base_dir), dtype="float32", attn_implementation="sdpa", device="cpu")
    optimizer = build_optimizer(model, s.lr, weight_decay=0.01)
    scheduler = build_scheduler(optimizer, "cosine", s.steps, s.warmup_steps / max(1, s.steps))
    rng = np.random.default_rng([s.seed, 0x70726574])
    losses = []
    with progress() as bar:
        task = bar.add_task("pretrain selector (grounding clips)", total=s.steps, info="")
        for step in range(s.steps):
            model.train()
            examples = [clip_example(rng, s, step)[:3] for _ in range(s.batch_size)]
            loss, _ = supervised_loss(model, supervised_batch(processor, examples))
            loss.backward()
            clip_and_step(model, optimizer, scheduler, 1.0)
            losses.append(float(loss.detach()))
            bar.update(task, advance=1, info=f"loss {np.mean(losses[-20:]):.3f}")
            if on_eval is not None and eval_every and (step + 1) % eval_every == 0:
                model.eval()
                on_eval(step + 1, model, processor)
    model.eval()
    acc = held_out_accuracy(model, processor, s)
    manifest = json.loads(json.dumps({"base": str(base_dir), "base_manifest": read_manifest(base_dir),
                                      "settings": asdict(s),
                                      "final_loss": float(np.mean(losses[-50:])), "held_out_accuracy": acc}))
    require_finite_weights(model.state_dict(), "the pretrained selector's weights", str(out_dir))
    with atomic_dir(Path(out_dir)) as tmp:
        model.save_pretrained(tmp)
        processor.save_pretrained(tmp)
        write_json(tmp / MANIFEST, manifest)
    return manifest


def pretrain_settings(recipe, pre) -> PretrainSettings:
    """PretrainSettings from a recipe's `models.selector.pretrain` and its `frames` (the clips are
    shown exactly as the run will show its candidates)."""
    fr = recipe.frames
    return PretrainSettings(steps=pre.steps, batch_size=pre.batch_size, lr=pre.lr, warmup_steps=pre.warmup_steps,
                            seed=pre.seed, candidates=fr.candidates, select=fr.select,
                            selector_size=fr.selector_size, index_text=fr.index_text,
                            question_position=fr.question_position,
                            think_words=pre.think_words, think_frames=pre.think_frames, filler_words=pre.filler_words,
                            tasks=tuple(pre.tasks),
                            first_task_steps=pre.first_task_steps, start_from=pre.start_from)


def check_pretrained(model_dir, settings, base_dir=None, where: str = "models.selector.path") -> None:
    """Refuse to reuse a pretrained model (selector or answer; `where` names its recipe field) made
    with other settings than the recipe's, or (`base_dir` given: the model it starts from) grown
    from another version of that model."""
    made = read_manifest(model_dir)
    if made is None:
        return  # a model from elsewhere (a hub checkpoint, a user's folder): the user's choice
    want = json.loads(json.dumps(asdict(settings)))
    # A setting added after the model was made is read as its default (what made the model then).
    old = {**json.loads(json.dumps(asdict(type(settings)()))), **made["settings"]}
    diff = sorted(k for k in want if old.get(k) != want[k])
    if diff:
        changes = ", ".join(f"{k}: {old.get(k)!r} -> {want[k]!r}" for k in diff)
        raise UserError(
            f"{model_dir} was pretrained with other settings ({changes})",
            where=where,
            fix=f"delete {model_dir} to pretrain it again, or point {where} at a new folder")
    # settings first: a start that changed (random -> answer) is named as such
    if base_dir is not None and made.get("base_manifest") != read_manifest(base_dir):
        raise UserError(
            f"{model_dir} was pretrained from another version of {base_dir} (that model was made again since)",
            where="models.selector.pretrain.start_from",
            fix=f"delete {model_dir} to pretrain it again from the current {base_dir}")


def read_manifest(model_dir) -> dict | None:
    """The pretraining manifest of a model folder (a selector's or an answer model's: both write
    MANIFEST), or None for a model that was not made here."""
    path = Path(model_dir) / MANIFEST
    return json.loads(path.read_text()) if path.is_file() else None
