"""The evaluation settings that move scores, recorded beside every score (the *settings block*).

Scores on one benchmark move by points with settings that papers rarely state: how many candidate
frames there are and how they are spaced, a pre-filter, the frame sizes and the processor's pixel
limits, the answer model's token budget, the prompt. `evaluation_settings` gathers them into one
plain dict that `viarl eval` prints and writes into results.json, `viarl run` writes into
summary.json, and the lmms-eval plugin logs, so two numbers can be compared only when their
blocks agree. `settings_lines` is the block as `key: value` lines, the same in all three places.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Mapping

from viarl import __version__
from viarl.console import console
from viarl.policy.prompts import INDEX_TEXT_MODES, PROMPT_VERSION, answer_messages, selector_messages

SETTINGS_VERSION = 1
# How video.decode.candidate_indices spaces the T candidates over a video of F frames.
SPACING = "segment centres: frame floor((i + 0.5) * F / T), i = 0..T-1, of F frames (all F when F <= T)"
ANSWER_PROMPTS = ("viarl", "lmms-eval task")


def prompt_digest() -> str:
    """A digest of every prompt viarl writes, rendered on a fixed example: it changes whenever a
    template's wording or layout does, even if PROMPT_VERSION was not bumped."""
    example = [selector_messages("What colour?", 3, 2, mode) for mode in INDEX_TEXT_MODES]
    example.append(answer_messages("What colour?", ["red", "green"], 2))
    return hashlib.sha256(json.dumps(example, sort_keys=True).encode()).hexdigest()[:16]


def _size_value(size: Any, key: str):
    if isinstance(size, Mapping):
        return size.get(key)
    return getattr(size, key, None)


def pixel_limits(processor) -> dict[str, int | None]:
    """The image processor's pixel limits: what Qwen2.5-VL resizes every frame into, whatever
    size viarl hands it (`min_pixels` / `max_pixels`, or Qwen2-VL's `size` shortest / longest edge,
    which are pixel counts too). None values without a processor (a selector that is no model)."""
    ip = getattr(processor, "image_processor", None)
    if ip is None:
        return {"min_pixels": None, "max_pixels": None}
    size = getattr(ip, "size", None)
    low = getattr(ip, "min_pixels", None) or _size_value(size, "shortest_edge")
    high = getattr(ip, "max_pixels", None) or _size_value(size, "longest_edge")
    return {"min_pixels": None if low is None else int(low), "max_pixels": None if high is None else int(high)}


def library_versions(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """viarl's, transformers' and torch's versions (plus `extra`, e.g. lmms_eval's)."""
    import torch
    import transformers

    return {"viarl": __version__, "transformers": transformers.__version__, "torch": torch.__version__,
            **dict(extra or {})}


def evaluation_settings(*, candidates: int, select: int, selector_size: int, answer_size: int,
                        index_text: str, selector_tokens: int, answer_tokens: int,
                        question_position: str = "after",
                        selectors: Mapping[str, str], answer: str, clip: str | None = None,
                        prefilter: int | None = None, extra_prefilter: int | None = None,
                        selector_processor=None, answer_processor=None, answer_prompt: str = "viarl",
                        dtypes: Mapping[str, str] | None = None, seed: int | None = None,
                        versions: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The settings block (plain JSON types).

    selectors: {row name: "uniform" | "clip" | a trained selector's folder}; prefilter: M when every
    row sees the best T of M frames by CLIP, extra_prefilter: M of the extra `+prefilter` rows of a
    run; selector_processor / answer_processor: the loaded processors, read for their pixel limits;
    answer_prompt: "viarl" (viarl's answer template) or "lmms-eval task" (the task's own text).
    """
    if answer_prompt not in ANSWER_PROMPTS:
        raise ValueError(f"answer_prompt must be one of {ANSWER_PROMPTS}, not {answer_prompt!r}")
    dtypes = dict(dtypes or {})
    return {
        "settings_version": SETTINGS_VERSION,
        "frames": {"candidates": int(candidates), "select": int(select), "spacing": SPACING,
                   "prefilter": None if prefilter is None else {"pool": int(prefilter), "model": clip},
                   "extra_prefilter_rows": None if extra_prefilter is None else {"pool": int(extra_prefilter),
                                                                                 "model": clip}},
        # question_position is recorded only where it is not the paper's "after", so results made
        # before it existed compare equal to results made with the same prompt now.
        "selector": {"size": int(selector_size), **pixel_limits(selector_processor), "index_text": index_text,
                     **({} if question_position == "after" else {"question_position": question_position}),
                     "max_new_tokens": int(selector_tokens), "decoding": "greedy",
                     "dtype": dtypes.get("selector")},
        "answer": {"size": int(answer_size), **pixel_limits(answer_processor),
                   "max_new_tokens": int(answer_tokens), "decoding": "greedy", "prompt": answer_prompt,
                   "dtype": dtypes.get("answer")},
        "prompt_template": {"version": PROMPT_VERSION, "digest": prompt_digest()},
        "models": {"selectors": {str(k): str(v) for k, v in selectors.items()}, "answer": str(answer),
                   "clip": None if clip is None else str(clip)},
        "seed": seed,
        "versions": library_versions(versions),
    }


def clip_name(model: str, pretrained: str | None = None) -> str:
    """A CLIP model as one string: the name or folder, with its pretrained tag when it has one."""
    return str(model) if not pretrained else f"{model} ({pretrained})"


def recipe_settings(recipe, selectors: Mapping[str, str], *, selector_processor=None, answer_processor=None,
                    answer: str | None = None, extra_rows: bool = False) -> dict[str, Any]:
    """`evaluation_settings` of a validated recipe (as `viarl eval` and `viarl run` use it).

    answer: the answer model actually evaluated (a run's last SFT checkpoint), default the recipe's;
    extra_rows: the run also evaluated `evaluation.prefilter`'s `+prefilter` rows (`viarl run` does,
    `viarl eval` does not)."""
    fr, m, ev = recipe.frames, recipe.models, recipe.evaluation
    extra = ev.prefilter.frames if extra_rows and ev.prefilter and not fr.prefilter else None
    uses_clip = bool(fr.prefilter or extra or "clip" in selectors.values())
    return evaluation_settings(
        candidates=fr.candidates, select=fr.select, selector_size=fr.selector_size, answer_size=fr.answer_size,
        index_text=fr.index_text, question_position=fr.question_position,
        selector_tokens=m.selector.max_new_tokens, answer_tokens=m.answer.max_new_tokens,
        selectors=selectors, answer=answer or m.answer.path,
        clip=clip_name(m.clip.model, m.clip.pretrained) if uses_clip else None,
        prefilter=fr.prefilter.frames if fr.prefilter else None, extra_prefilter=extra,
        selector_processor=selector_processor, answer_processor=answer_processor,
        dtypes={"selector": m.selector.dtype, "answer": m.answer.dtype}, seed=recipe.seed)


def flatten(block: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{dotted key: leaf value} of a settings block (a non-empty dict is walked; leaves are kept)."""
    out: dict[str, Any] = {}
    for key, value in block.items():
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def settings_lines(block: Mapping[str, Any]) -> list[str]:
    """The block as `dotted.key: value` lines (JSON values), in the block's order."""
    return [f"{k}: {json.dumps(v)}" for k, v in flatten(block).items()]


def print_settings(block: Mapping[str, Any]) -> None:
    """Print the block on viarl's console, one `key: value` line each (never wrapped)."""
    console.print("evaluation settings:", style="bold")
    for line in settings_lines(block):
        console.print(f"  {line}", markup=False, highlight=False, overflow="ignore", crop=False)
