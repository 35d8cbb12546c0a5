"""`lmms-eval --model viarl`: a frame selector and an answer model as one lmms-eval model.

    lmms-eval --model viarl --tasks mlvu_dev \
        --model_args selector=RUN/checkpoints/c2-rl/selector,answer=RUN/checkpoints/c2-sft/answer

For each question of a video task: T candidate frames of the task's video (spaced as `viarl eval`
spaces them, optionally CLIP-pre-filtered from M), the selector's N picks (uniform, CLIP, or a
trained selector prompted with the question's first line), then the answer model on those N frames
(answer view) with the task's own prompt text, decoded greedily. So a score from lmms-eval and one
from `viarl eval` differ only in the prompt and the answer parsing each harness uses.

Model arguments (`--model_args key=value,...`): selector (uniform | clip | a trained selector
folder, default uniform), answer (folder or hub id, required), candidates (T), select (N),
selector_size, answer_size, index_text, question_position, selector_tokens, answer_tokens (default: the task's
max_new_tokens), clip, clip_pretrained, clip_diversity, prefilter (M), dtype, attn_implementation,
cache (frame cache folder), predictions (a JSONL file: each question's chosen frames, the
selector's raw output and the answer, as `viarl eval`'s predictions.jsonl). A trained selector's
folder supplies T, N, its view size, index text, token budget and pre-filter pool where they are
not given, as in `viarl eval`. The settings block
(eval/settings.py) is logged once per task before its first answer.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from lmms_eval.api.model import lmms
from loguru import logger

from viarl.atomic import write_text
from viarl.config.frames import Frames
from viarl.config.models import AnswerModel, SelectorModel
from viarl.errors import UserError
from viarl.eval.selectors import make_selector
from viarl.eval.settings import clip_name, evaluation_settings, settings_lines
from viarl.models.clip import clip_prefilter, load_clip
from viarl.models.lora import load_policy
from viarl.policy.answerer import Answerer, AnswerRequest
from viarl.policy.prompts import INDEX_TEXT_MODES, QUESTION_POSITIONS
from viarl.policy.selector import selector_settings
from viarl.selection import pool_problem, select_problem
from viarl.video.cache import FrameCache
from viarl.video.candidates import load_candidates
from viarl.video.prefilter import load_prefiltered

# model argument -> the key of a trained selector's viarl_selector.json that supplies its default
SAVED = {"candidates": "candidates", "select": "select", "selector_size": "selector_size",
         "index_text": "index_text", "question_position": "question_position",
         "selector_tokens": "max_new_tokens", "prefilter": "prefilter"}
DEFAULTS = {"candidates": Frames.model_fields["candidates"].default, "select": Frames.model_fields["select"].default,
            "selector_size": Frames.model_fields["selector_size"].default,
            "answer_size": Frames.model_fields["answer_size"].default,
            "index_text": Frames.model_fields["index_text"].default,
            "question_position": Frames.model_fields["question_position"].default,
            "selector_tokens": SelectorModel.model_fields["max_new_tokens"].default, "prefilter": None}
DEFAULT_ANSWER_TOKENS = AnswerModel.model_fields["max_new_tokens"].default


@dataclass(frozen=True)
class Question:
    """What a selector reads of a question: its video and its text."""

    video: Path
    question: str


def selector_question(doc, context: str) -> str:
    """The question a trained selector is prompted with: the first non-empty line of the doc's
    `question` field (MLVU, VideoMME and LVBench docs have one; MLVU appends its options below),
    else of the task's prompt text."""
    text = doc.get("question") if isinstance(doc, dict) else None
    text = text if isinstance(text, str) and text.strip() else context
    return next((line.strip() for line in text.splitlines() if line.strip()), text.strip())


def _video(visuals) -> Path:
    items = visuals if isinstance(visuals, (list, tuple)) else [visuals]
    paths = [v for v in items if isinstance(v, (str, os.PathLike))]
    if not paths:
        raise UserError(f"the task gives no video path ({type(items[0]).__name__ if items else 'nothing'})",
                        where="doc_to_visual", fix="use a video task whose doc_to_visual returns file paths")
    return Path(paths[0])


def _device(name: str | None) -> str:
    if name in (None, "", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    return str(name)


def resolve_args(selector: str, given: dict) -> dict:
    """Every setting: given model args, else the trained selector's saved settings, else the
    recipe defaults (`Frames`, `SelectorModel`)."""
    saved = selector_settings(selector) if selector not in ("uniform", "clip") else {}
    out = {}
    for key, default in DEFAULTS.items():
        value = given.get(key)
        out[key] = value if value is not None else saved.get(SAVED.get(key, ""), default)
    return out


class ViarlModel(lmms):
    """lmms-eval model class: viarl frame selection, then the answer model (see the module docstring)."""

    is_simple = True

    def __init__(self, answer: str | None = None, selector: str = "uniform", candidates: int | None = None,
                 select: int | None = None, selector_size: int | None = None, answer_size: int | None = None,
                 index_text: str | None = None, question_position: str | None = None,
                 selector_tokens: int | None = None, answer_tokens: int | None = None, clip: str | None = None, clip_pretrained: str | None = None,
                 clip_diversity: float = 0.5, prefilter: int | None = None, dtype: str = "float32",
                 attn_implementation: str = "sdpa", cache: str | None = None, predictions: str | None = None,
                 device: str | None = None,
                 batch_size: int | str | None = 8, max_batch_size=None, **unknown) -> None:
        super().__init__()
        if unknown:
            raise UserError(f"unknown model argument(s): {', '.join(sorted(unknown))}", where="--model_args",
                            fix="see `viarl.harness.lmms_model`'s docstring for the arguments")
        if answer is None:
            raise UserError("no answer model", where="--model_args", fix="add answer=FOLDER_OR_HUB_ID")
        if int(os.environ.get("WORLD_SIZE", "1")) > 1:
            raise UserError("the viarl model runs in one process", where="accelerate launch",
                            fix="run lmms-eval without a multi-process launcher")
        selector, answer = str(selector), str(answer)
        s = resolve_args(selector, {"candidates": candidates, "select": select, "selector_size": selector_size,
                                    "index_text": index_text, "question_position": question_position,
                                    "selector_tokens": selector_tokens,
                                    "prefilter": prefilter})
        self.candidates, self.select = int(s["candidates"]), int(s["select"])
        self.selector_size, self.answer_size = int(s["selector_size"]), int(answer_size or DEFAULTS["answer_size"])
        problem = select_problem(self.select, self.candidates)
        if problem:
            raise UserError(problem, where="--model_args select", fix="pick at most as many frames as candidates")
        self.prefilter_frames = None if s["prefilter"] is None else int(s["prefilter"])
        problem = self.prefilter_frames and pool_problem(self.prefilter_frames, self.candidates)
        if problem:
            raise UserError(problem, where="--model_args prefilter", fix=f"use e.g. prefilter={4 * self.candidates}")
        for key, modes in (("index_text", INDEX_TEXT_MODES), ("question_position", QUESTION_POSITIONS)):
            if s[key] not in modes:
                raise UserError(f"{key}={s[key]!r} is not one of {', '.join(modes)}", where=f"--model_args {key}",
                                fix=f"use {key}={modes[0]} (or leave it out: the trained selector's own)")
        if (selector == "clip" or self.prefilter_frames) and clip is None:
            raise UserError("the clip selector and the pre-filter need a CLIP model", where="--model_args",
                            fix="add clip=NAME_OR_FOLDER")
        device = _device(device)
        # lmms-eval's --batch_size (questions per selector and answer pass); "auto" means viarl's 8
        self.batch_size = max(1, int(batch_size)) if str(batch_size or "").isdigit() else 8
        self.answer_tokens = None if answer_tokens is None else int(answer_tokens)
        self.cache = FrameCache(cache) if cache else None
        self.predictions, self.rows = (Path(str(predictions)) if predictions else None), []
        bundle = load_clip(str(clip), clip_pretrained, device=device) if clip is not None else None
        self.prefilter = clip_prefilter(bundle, self.prefilter_frames) if self.prefilter_frames else None
        self.selector = make_selector(selector, clip=bundle, clip_diversity=float(clip_diversity),
                                      index_text=s["index_text"], question_position=s["question_position"],
                                      max_new_tokens=int(s["selector_tokens"]),
                                      device=device, dtype=dtype, attn_implementation=attn_implementation)
        model, processor = load_policy(answer, None, dtype=dtype, attn_implementation=attn_implementation,
                                       device=device)
        self.answerer = Answerer(model, processor, batch_size=self.batch_size)
        self._settings = dict(
            candidates=self.candidates, select=self.select, selector_size=self.selector_size,
            answer_size=self.answer_size, index_text=getattr(self.selector, "index_text", s["index_text"]),
            question_position=getattr(self.selector, "question_position", s["question_position"]),
            selector_tokens=int(s["selector_tokens"]), selectors={self.selector.name: selector}, answer=answer,
            clip=None if clip is None else clip_name(str(clip), clip_pretrained),
            prefilter=self.prefilter_frames, selector_processor=getattr(self.selector, "processor", None),
            answer_processor=processor, answer_prompt="lmms-eval task", dtypes={"selector": dtype, "answer": dtype},
            versions={"lmms_eval": _lmms_eval_version()})
        self._logged: set[tuple[str, int]] = set()

    def settings(self, answer_tokens: int) -> dict:
        """The settings block of this model with `answer_tokens` (eval/settings.py)."""
        return evaluation_settings(answer_tokens=answer_tokens, **self._settings)

    def _log_settings(self, task: str, answer_tokens: int) -> None:
        if (task, answer_tokens) in self._logged:
            return
        self._logged.add((task, answer_tokens))
        lines = "\n".join(f"  {line}" for line in settings_lines(self.settings(answer_tokens)))
        logger.info(f"viarl evaluation settings for task {task}:\n{lines}")

    def _tokens(self, gen_kwargs: dict) -> int:
        if self.answer_tokens is not None:
            return self.answer_tokens
        return int((gen_kwargs or {}).get("max_new_tokens") or DEFAULT_ANSWER_TOKENS)

    def _candidates(self, q: Question):
        if self.prefilter is not None:
            return load_prefiltered(q.video, q.question, self.candidates, self.selector_size, self.answer_size,
                                    self.prefilter, cache=self.cache)
        return load_candidates(q.video, self.candidates, self.selector_size, self.answer_size, cache=self.cache)

    def generate_until(self, requests) -> list[str]:
        """Select frames, then answer with the task's prompt; requests are taken in order, in
        batches of `batch_size`, and each answer is cut at the task's first `until` string."""
        out: list[str] = []
        for start in range(0, len(requests), self.batch_size):
            out += self._answer_batch([r.args for r in requests[start:start + self.batch_size]])
        if self.predictions is not None:
            write_text(self.predictions, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in self.rows))
        return out

    def _answer_batch(self, batch) -> list[str]:
        loaded, texts, rows = [], [""] * len(batch), [None] * len(batch)
        for i, (context, gen_kwargs, doc_to_visual, doc_id, task, split) in enumerate(batch):
            doc = self.task_dict[task][split][doc_id]
            q = Question(_video(doc_to_visual(doc)), selector_question(doc, context))
            try:
                loaded.append((i, q, self._candidates(q), context, gen_kwargs or {}, task))
            except UserError as e:  # counted wrong, as a model that cannot see the video answers nothing
                logger.warning(f"viarl: {q.video}: {e.message}; answered with an empty string")
        if not loaded:
            return texts
        picks = self.selector.select([q for _, q, *_ in loaded], [c for _, _, c, *_ in loaded], self.select)
        groups: dict[int, list] = {}  # answer token budget -> (batch position, request, stop strings)
        for (i, q, cands, context, gen_kwargs, task), sel in zip(loaded, picks):
            tokens = self._tokens(gen_kwargs)
            self._log_settings(task, tokens)
            frames = tuple(int(cands.frame_indices[j]) for j in sel.indices)
            request = AnswerRequest(key=(str(q.video), context, frames, tokens), question=q.question, options=(),
                                    images=cands.answer_images(sel.indices), prompt=context)
            groups.setdefault(tokens, []).append((i, request, gen_kwargs.get("until")))
            row = {"task": task, "doc_id": batch[i][3], "video": str(q.video), "question": q.question,
                   "chosen": [int(j) for j in sel.indices], "chosen_frames": list(frames),
                   "candidate_frames": [int(f) for f in cands.frame_indices], "selector_raw": sel.raw,
                   "fallback": bool(sel.fallback)}
            rows[i] = row
        for tokens, items in groups.items():
            self.answerer.max_new_tokens = tokens
            for (i, _, until), text in zip(items, self.answerer.answer([r for _, r, _ in items])):
                texts[i] = _cut(text, until)
                rows[i]["answer_raw"] = texts[i]
        self.rows += [r for r in rows if r is not None]
        return texts

    def loglikelihood(self, requests):
        raise NotImplementedError("the viarl model generates answers: use generate_until tasks "
                                  "(MLVU, VideoMME, LVBench)")

    def generate_until_multi_round(self, requests):
        raise NotImplementedError("the viarl model answers one round per question")


def _cut(text: str, until) -> str:
    """`text` up to the first of the task's stop strings."""
    for stop in [until] if isinstance(until, str) else list(until or []):
        if stop:
            text = text.split(stop)[0]
    return text


def _lmms_eval_version() -> str:
    from importlib.metadata import version

    return version("lmms_eval")
