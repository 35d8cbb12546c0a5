"""Multiple-choice pretraining of a tiny answer model: the CPU stand-in for a pretrained VLM.

`pretrain_answer(base, out, ...)` takes a tiny random answer model (`viarl models tiny`) and
teaches it, by supervised next-token loss, to answer generic multiple-choice questions about
still frames (`viarl.synth.choice_stills`): the prompt is exactly the answer prompt the pipeline
uses (the frames, the question, the lettered options, shuffled per question), the target the
right option's text. It never sees a needle video, question or truth file. Saved like the
selector's grounding pretraining, with a `viarl_pretrain.json` manifest, so a second run reuses
it and a run with other settings refuses it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from viarl.atomic import atomic_dir, write_json
from viarl.console import progress
from viarl.eval.answer_parse import parse_answer, option_letters
from viarl.models.loading import load_vlm
from viarl.policy.answerer import Answerer, AnswerRequest
from viarl.policy.prompts import answer_messages
from viarl.synth.choice_stills import CHROMATIC, make_choice_still
from viarl.train.optim import build_optimizer, build_scheduler, clip_and_step
from viarl.train.pretrain import MANIFEST
from viarl.train.supervised import supervised_batch, supervised_loss

# Bumped whenever the examples or targets change, so a model made by an older viarl is not reused.
STILLS_VERSION = 1


@dataclass(frozen=True)
class AnswerPretrainSettings:
    """How a multiple-choice-pretrained answer model is made (recorded in its manifest)."""

    steps: int = 1000
    batch_size: int = 8
    lr: float = 1e-3
    warmup_steps: int = 20
    seed: int = 0
    frames: tuple[int, ...] = (1, 2, 2, 4)  # frames per example, drawn uniformly
    kinds: tuple[str, ...] = ("colour",)  # what the questions ask (choice_stills.KINDS)
    colours: tuple[str, ...] = CHROMATIC  # the colours asked about
    absent: float = 0.0  # share of examples whose frames do not show the object (target: option A's text)
    answer_size: int = 56
    clip_size: int = 112
    stills_version: int = STILLS_VERSION


def choice_example(rng: np.random.Generator, s: AnswerPretrainSettings):
    """(messages, images, target text, still) for one freshly drawn example."""
    absent = s.absent > 0 and rng.random() < s.absent
    still = make_choice_still(rng, int(rng.choice(s.frames)), s.clip_size, kind=str(rng.choice(s.kinds)),
                              colours=s.colours, absent=absent)
    images = [Image.fromarray(f).resize((s.answer_size, s.answer_size), Image.BILINEAR) for f in still.frames]
    return answer_messages(still.question, still.options, len(images)), images, still.answer_text, still


def held_out_accuracy(model, processor, s: AnswerPretrainSettings, n: int = 64, absent: bool = False) -> float:
    """Share of fresh examples (a stream training never draws) answered right, through the
    pipeline's answerer and the evaluation's parser; with `absent`, the share of examples that
    do not show the object answered with the first option (what the pretraining teaches there)."""
    rng = np.random.default_rng([s.seed, 0x686F6C64 + absent])
    items = [choice_example(rng, replace(s, absent=float(absent))) for _ in range(n)]
    answerer = Answerer(model, processor, max_new_tokens=4)
    replies = answerer.answer([AnswerRequest(i, im, st.question, st.options) for i, (_, im, _, st) in enumerate(items)])
    letters = option_letters(4)
    return float(np.mean([parse_answer(r, st.options) == letters[st.answer]
                          for r, (*_, st) in zip(replies, items)]))


def pretrain_answer(base_dir, out_dir, settings: AnswerPretrainSettings = AnswerPretrainSettings()) -> dict:
    """Pretrain the answer model at `base_dir` on multiple-choice stills, save it to `out_dir`;
    returns the manifest."""
    s = settings
    torch.manual_seed(s.seed)
    model, processor = load_vlm(str(base_dir), dtype="float32", attn_implementation="sdpa", device="cpu")
    optimizer = build_optimizer(model, s.lr, weight_decay=0.01)
    scheduler = build_scheduler(optimizer, "cosine", s.steps, s.warmup_steps / max(1, s.steps))
    rng = np.random.default_rng([s.seed, 0x616E7377])
    losses = []
    with progress() as bar:
        task = bar.add_task("pretrain answer model (multiple-choice stills)", total=s.steps, info="")
        for _ in range(s.steps):
            model.train()
            examples = [choice_example(rng, s)[:3] for _ in range(s.batch_size)]
            loss, _ = supervised_loss(model, supervised_batch(processor, examples))
            loss.backward()
            clip_and_step(model, optimizer, scheduler, 1.0)
            losses.append(float(loss.detach()))
            bar.update(task, advance=1, info=f"loss {np.mean(losses[-20:]):.3f}")
    model.eval()
    acc = held_out_accuracy(model, processor, s)
    made = {"base": str(base_dir), "settings": asdict(s), "final_loss": float(np.mean(losses[-50:])),
            "held_out_accuracy": acc}
    if s.absent:
        made["held_out_absent_first_option"] = held_out_accuracy(model, processor, s, absent=True)
    manifest = json.loads(json.dumps(made))
    with atomic_dir(Path(out_dir)) as tmp:
        model.save_pretrained(tmp)
        processor.save_pretrained(tmp)
        write_json(tmp / MANIFEST, manifest)
    return manifest


def answer_pretrain_settings(recipe, pre) -> AnswerPretrainSettings:
    """AnswerPretrainSettings from a recipe's `models.answer.pretrain` and its `frames.answer_size`."""
    return AnswerPretrainSettings(steps=pre.steps, batch_size=pre.batch_size, lr=pre.lr,
                                  warmup_steps=pre.warmup_steps, seed=pre.seed, frames=tuple(pre.frames),
                                  absent=pre.absent,
                                  answer_size=recipe.frames.answer_size)
