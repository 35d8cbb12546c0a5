"""The selector's and the answer model's prompts: the only copy in viarl.

The paper's code kept several drifting copies of these; everything that builds a prompt (rollout,
warm-up, evaluation, SFT) calls the functions below. Messages use the Hugging Face chat format with
`{"type": "image"}` placeholders, so `processor.apply_chat_template` renders them exactly as it
would for a hub checkpoint of Qwen2.5-VL.
"""

from __future__ import annotations

import re
import string
from typing import Any, Sequence

from PIL import Image

from viarl.selection import effective_select

LETTERS = string.ascii_uppercase

# Recorded with every evaluation (eval/settings.py): bump it whenever a prompt's wording changes,
# so results from different prompts are never compared unknowingly.
PROMPT_VERSION = 1

SELECTOR_SYSTEM = (
    "You are choosing frames of a video to answer a question about it. The video is shown as "
    "{count} frames in temporal order. The red number in the bottom-right corner of each frame is "
    "its index, from 0 to {last}.\n"
    "1. Pick out the question's keywords: entities, time, place, action.\n"
    "2. Describe what the frames relevant to the question should look like.\n"
    "3. Give exactly {select} distinct frame indices.\n"
    "Answer in this format: <think> your reasoning </think><index> i1, i2, ..., i{select} </index>"
)

ANSWER_INSTRUCTION = "Answer with the option's letter from the given choices directly."

_STOPWORDS = frozenset(
    "a an the of in on at to and or is was were be been what which who whom whose when where why "
    "how that this these those did does do it its from with for by as appeared appear appears "
    "video frame frames shown show briefly".split()
)


def format_options(options: Sequence[str]) -> str:
    """'A. first\\nB. second…' in candidate order."""
    return "\n".join(f"{LETTERS[i]}. {text}" for i, text in enumerate(options))


INDEX_TEXT_MODES = ("before", "after", "none")
QUESTION_POSITIONS = ("after", "before")


def selector_messages(question: str, count: int, select: int, index_text: str,
                      question_position: str = "after") -> list[dict[str, Any]]:
    """Chat messages for the selector: system task, then `count` frames, then the question stem
    (`question_position` "before": the question stem first, then the frames).

    `count` is the TRUE number of candidates (a short video may have fewer than T). With
    `index_text` "before", each frame is preceded by "Frame i:" as text too, which small models
    read far more easily than the drawn digits; with "after" the label follows the frame, so its
    text token can already carry what the frame shows (one attention hop for a tiny model).
    With the question before the frames, its length no longer moves the frames relative to the
    answer, and each frame's tokens can attend to the question (a small model otherwise learns
    to find frame i by its distance from the end of the question, which a new wording breaks).
    """
    if index_text not in INDEX_TEXT_MODES:
        raise ValueError(f"index_text must be before, after or none, not {index_text!r}")
    if question_position not in QUESTION_POSITIONS:
        raise ValueError(f"question_position must be after or before, not {question_position!r}")
    system = SELECTOR_SYSTEM.format(count=count, last=count - 1, select=effective_select(select, count))
    stem = {"type": "text", "text": f"Question: {question}"}
    content: list[dict[str, Any]] = [stem] if question_position == "before" else []
    for i in range(count):
        if index_text == "before":
            content.append({"type": "text", "text": f"Frame {i}:"})
        content.append({"type": "image"})
        if index_text == "after":
            content.append({"type": "text", "text": f"(frame {i})"})
    if question_position == "after":
        content.append(stem)
    return [
        {"role": "system", "content": [{"type": "text", "text": system}]},
        {"role": "user", "content": content},
    ]


def answer_text(question: str, options: Sequence[str]) -> str:
    """The answer model's text: the question, its lettered options and the instruction."""
    return f"{question}\n{format_options(options)}\n{ANSWER_INSTRUCTION}"


def answer_messages(question: str, options: Sequence[str], n_images: int,
                    text: str | None = None) -> list[dict[str, Any]]:
    """Chat messages for the answer model: the chosen frames, then `answer_text` (or `text`, a
    prompt written elsewhere, such as an lmms-eval task's)."""
    content: list[dict[str, Any]] = [{"type": "image"} for _ in range(n_images)]
    content.append({"type": "text", "text": answer_text(question, options) if text is None else text})
    return [{"role": "user", "content": content}]


def render(processor, messages: list[dict[str, Any]], add_generation_prompt: bool = True) -> str:
    """The chat template's text for `messages` (what a hub checkpoint's processor would produce)."""
    return processor.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=add_generation_prompt
    )


def encode(processor, texts: list[str], images: list[list[Image.Image]], padding_side: str = "left"):
    """Tokenise rendered prompts with their images into one padded batch (a BatchFeature).

    Left padding for generation (new tokens line up at the right edge); right padding for
    training, where the response follows each prompt.
    """
    tok = processor.tokenizer
    old = tok.padding_side
    tok.padding_side = padding_side
    try:
        flat = [img for imgs in images for img in imgs]
        return processor(
            text=texts, images=flat if flat else None, return_tensors="pt", padding=True
        )
    finally:
        tok.padding_side = old


def think_keywords(question: str, limit: int = 8) -> str:
    """Content words of the question: the warm-up's stand-in reasoning (format only, no labels)."""
    words = [w for w in re.findall(r"[A-Za-z]+", question.lower()) if w not in _STOPWORDS]
    seen: list[str] = []
    for w in words:
        if w not in seen:
            seen.append(w)
    return ", ".join(seen[:limit]) or "the question"


def frame_marks(count: int, relevant: int) -> str:
    """Per-frame reasoning: `0n,1n,2y,...`, y for the frame the question is about.

    Each mark is a judgement of one frame, found by its label, so a tiny selector gets one
    supervised decision per frame instead of one pointer per clip."""
    return ",".join(f"{i}{'y' if i == relevant else 'n'}" for i in range(count))


def selector_target(question: str, indices: Sequence[int], think_words: int = 8,
                    think: str | None = None) -> str:
    """A well-formed selector completion: reasoning (`think`, else the question's keywords), then
    the given indices."""
    joined = ", ".join(str(i) for i in indices)
    reasoning = think_keywords(question, think_words) if think is None else think
    return f"<think>{reasoning}</think><index>{joined}</index>"
