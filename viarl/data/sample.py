"""Sample: one multiple-choice question about one video, the same for every benchmark.

`question` is the stem only (what the selector sees); `options` are the option texts without
their letters (letters follow the order: A, B, C, ...); `answer` is the correct letter and is
always one of the options' letters.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from viarl.data.skips import ANSWER_NOT_IN_OPTIONS, BAD_FIELD, BAD_OPTIONS, TOO_LONG

LETTERS = string.ascii_uppercase
# A question plus options far past any benchmark's (the longest are a few thousand characters):
# such a text would only fill the model's context, so it is skipped and counted, not trained on.
MAX_TEXT_CHARS = 100_000


@dataclass(frozen=True)
class Sample:
    """One question.

    id: unique within its dataset; video: path to the video file; question: the stem, no options;
    options: option texts without letters; answer: the correct letter ('A'..);
    question_type: the benchmark's task / type name; duration: seconds when the annotation
    gives them, else None; meta: anything else the benchmark carries (duration class, domain...).
    """

    id: str
    video: Path
    question: str
    options: tuple[str, ...]
    answer: str
    question_type: str
    duration: float | None = None
    meta: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def answer_index(self) -> int:
        """Position of the correct option."""
        return LETTERS.index(self.answer)

    @property
    def answer_text(self) -> str:
        """Text of the correct option."""
        return self.options[self.answer_index]

    def lettered_options(self) -> list[str]:
        """Options as the answer model sees them: 'A. text'."""
        return [f"{LETTERS[i]}. {text}" for i, text in enumerate(self.options)]


def option_letters(n: int) -> str:
    """The letters of `n` options: 'ABCD' for 4."""
    if not 0 <= n <= len(LETTERS):
        raise ValueError(f"cannot letter {n} options")
    return LETTERS[:n]


def sample_problem(
    question: object, options: object, answer: object
) -> tuple[str, str] | None:
    """(reason, detail) if these fields cannot make a Sample, else None.

    Checks what every loader needs: a non-empty question, 2..26 non-empty option strings, at most
    MAX_TEXT_CHARS characters in all, and an answer letter among them.
    """
    if not isinstance(question, str) or not question.strip():
        return BAD_FIELD, "question is empty or not text"
    if (
        not isinstance(options, (list, tuple))
        or not 2 <= len(options) <= len(LETTERS)
        or not all(isinstance(o, str) and o.strip() for o in options)
    ):
        return BAD_OPTIONS, f"need 2-26 non-empty option texts, got {options!r}"[:200]
    size = len(question) + sum(len(o) for o in options)
    if size > MAX_TEXT_CHARS:
        return TOO_LONG, f"question and options hold {size:,} characters (the limit is {MAX_TEXT_CHARS:,})"
    if not isinstance(answer, str) or answer not in option_letters(len(options)):
        letters = option_letters(len(options))
        return ANSWER_NOT_IN_OPTIONS, f"answer {answer!r} is not one of {letters}"
    return None


def make_sample(
    id: str,
    video: Path,
    question: str,
    options: list[str] | tuple[str, ...],
    answer: str,
    question_type: str,
    duration: float | None = None,
    meta: dict[str, Any] | None = None,
) -> Sample:
    """A Sample with whitespace trimmed; call `sample_problem` first to validate."""
    return Sample(
        id=str(id),
        video=Path(video),
        question=question.strip(),
        options=tuple(o.strip() for o in options),
        answer=answer,
        question_type=str(question_type),
        duration=None if duration is None else float(duration),
        meta=dict(meta or {}),
    )
