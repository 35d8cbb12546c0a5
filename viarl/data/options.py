"""Parsers for the three ways benchmarks write lettered options.

* VideoMME: a list of strings "A. text" (`strip_letters`);
* LVBench: options inside the question text as "(A) text" (`split_paren_options`);
* the paper's training JSONL: an "Options:" block of "A. text" lines (`split_options_block`).

Each returns None when the text is not in its format, never raises: the loader turns None into
a counted skip. Letters must run A, B, C, ... in order.
"""

from __future__ import annotations

import re

from viarl.data.sample import LETTERS

_DOT_OPTION = re.compile(r"^\s*([A-Z])\s*[.．)]\s?(.*)$", re.S)
_OPTIONS_HEADER = re.compile(r"^\s*options?\s*:\s*$", re.I)
_QUESTION_PREFIX = re.compile(r"^\s*question\s*:\s*", re.I)


def strip_letters(options: list[str]) -> list[str] | None:
    """["A. x", "B. y"] -> ["x", "y"]; None unless every item carries its own letter in order."""
    texts = []
    for i, item in enumerate(options):
        if not isinstance(item, str):
            return None
        m = _DOT_OPTION.match(item)
        if m is None or i >= len(LETTERS) or m.group(1) != LETTERS[i] or not m.group(2).strip():
            return None
        texts.append(m.group(2).strip())
    return texts if len(texts) >= 2 else None


def _paren_marker(letter: str) -> re.Pattern[str]:
    # "(A)" at the start of the text or after whitespace, so "f(A)" in a stem is not a marker.
    return re.compile(r"(?:^|(?<=\s))\(" + letter + r"\)")


def split_paren_options(text: str) -> tuple[str, list[str]] | None:
    """"Stem?\\n(A) x\\n(B) y" -> ("Stem?", ["x", "y"]); None without at least (A) and (B).

    Options may sit on their own lines or inline. The block starts at the last "(A)" that is
    followed by a "(B)", so a stem that itself mentions "(A)" is kept whole.
    """
    if not isinstance(text, str):
        return None
    starts_a = [m for m in _paren_marker("A").finditer(text)]
    b_marker = _paren_marker("B")
    start = None
    for m in reversed(starts_a):
        if b_marker.search(text, m.end()):
            start = m
            break
    if start is None:
        return None
    stem = text[: start.start()].strip()
    bounds = [(start.start(), start.end())]
    for letter in LETTERS[1:]:
        m = _paren_marker(letter).search(text, bounds[-1][1])
        if m is None:
            break
        bounds.append((m.start(), m.end()))
    options = []
    for i, (_, end) in enumerate(bounds):
        stop = bounds[i + 1][0] if i + 1 < len(bounds) else len(text)
        options.append(text[end:stop].strip())
    if not stem or any(not o for o in options):
        return None
    return stem, options


def split_options_block(text: str) -> tuple[str, list[str]] | None:
    """Split the paper's user text into (stem, option texts); None if it has no Options block.

    A leading "<video>" and "Question:" are dropped from the stem. The block is the "Options:"
    line followed by consecutive "A. x", "B. y", ... lines; whatever follows it (an instruction
    such as "Answer with the option's letter") is not part of any option.
    """
    if not isinstance(text, str):
        return None
    body = text.strip()
    if body.startswith("<video>"):
        body = body[len("<video>") :]
    lines = body.splitlines()
    header = next((i for i, line in enumerate(lines) if _OPTIONS_HEADER.match(line)), None)
    if header is None:
        return None
    stem = _QUESTION_PREFIX.sub("", "\n".join(lines[:header]).strip(), count=1).strip()
    options = []
    for line in lines[header + 1 :]:
        m = _DOT_OPTION.match(line)
        if m is None or len(options) >= len(LETTERS) or m.group(1) != LETTERS[len(options)]:
            break
        options.append(m.group(2).strip())
    if not stem or len(options) < 2 or any(not o for o in options):
        return None
    return stem, options
