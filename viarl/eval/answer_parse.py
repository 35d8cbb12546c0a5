"""Read the option letter out of an answer model's free text.

The answer prompt asks for the letter alone, but models (tiny random ones above all, and
pretrained ones now and then) write more or other things. `parse_answer(text, options)` accepts,
in this order, and returns the first that applies:

1. the letter alone, any case, optionally in brackets and with trailing punctuation:
   ``b``, ``B``, ``(c)``, ``[D].``;
2. an explicit statement: ``Answer: D``, ``The answer is (B).``, ``correct option is c``,
   ``Choice - A`` (the words answer / option / choice, then ``is`` or ``:`` or ``-``);
3. a leading letter followed by a separator and, usually, the option text: ``B. red``,
   ``(C) blue``, ``D: green``, ``A) yes``.  A capital followed only by a space is *not* taken
   ("A red car" starts with an article, not with option A);
4. an option's text instead of its letter: the whole reply equals one option's text after
   case folding and trimming of whitespace and trailing ``.``;
5. exactly one bracketed letter anywhere: ``I would say (B) here``.

Letters outside the options (E with four options) are never returned. When nothing applies, or
rule 5 finds two different letters (``(A) or (B)``), the answer is None: an ambiguous reply is
wrong, it never earns credit by listing several choices.
"""

from __future__ import annotations

import re
import string

_TRAIL = " \t\r\n.。!,;"
_ALONE = re.compile(r"^[\(\[\{]?\s*([A-Za-z])\s*[\)\]\}]?[.:)。!]?$")
_STATED = re.compile(
    r"\b(?:answer|option|choice)\s*(?:is\b|:|-|=)\s*(?:option\s+|choice\s+)?"
    r"(?:[\(\[\{]\s*(?P<br>[A-Za-z])\s*[\)\]\}]|(?P<bare>[A-Za-z])(?![A-Za-z0-9])(?P<after>.*))",
    re.IGNORECASE | re.DOTALL,
)
# A bare letter after "answer is" followed by another letter choice means several answers
# ("or"/"and" as words: in "B. ora" the option text starts with "or").
_ALTERNATIVE = re.compile(r"^\s*(?:(?:or|and)\b|/|,|&)\s*[\(\[]?[A-Za-z](?![A-Za-z0-9])", re.IGNORECASE)
_LEADING = re.compile(r"^(?:[\(\[\{]\s*([A-Za-z])\s*[\)\]\}]|([A-Za-z])\s*[.:)\]])")
_BRACKETED = re.compile(r"[\(\[\{]\s*([A-Za-z])\s*[\)\]\}]")


def option_letters(n_options: int) -> str:
    """The letters of `n_options` options: 'ABCD' for four."""
    return string.ascii_uppercase[: max(0, min(n_options, 26))]


def _norm(text: str) -> str:
    return " ".join(text.strip().strip(_TRAIL).split()).casefold()


def parse_answer(text: str | None, options: tuple[str, ...] | list[str] = ()) -> str | None:
    """The option letter the reply `text` names, or None (see the module docstring for the rules).

    `options` are the option texts without letters; with none given, any letter A–Z counts.
    """
    if not text:
        return None
    valid = option_letters(len(options)) if options else string.ascii_uppercase
    stripped = text.strip()

    def ok(letter: str | None) -> str | None:
        if letter is None:
            return None
        up = letter.upper()
        return up if up in valid else None

    m = _ALONE.match(stripped)
    if m:
        return ok(m.group(1))
    m = _STATED.search(stripped)
    if m and m.group("br"):
        return None if _ALTERNATIVE.match(stripped[m.end():]) else ok(m.group("br"))
    if m and not _ALTERNATIVE.match(m.group("after")):
        after = m.group("after").strip()
        # a lower-case bare letter is often an article ("answer: a cat"): only take it alone
        if m.group("bare").isupper() or not after or after[0] in ".,;:!)]":
            return ok(m.group("bare"))
        return None
    m = _LEADING.match(stripped)
    if m:
        return None if _ALTERNATIVE.match(stripped[m.end():]) else ok(m.group(1) or m.group(2))
    if options:
        reply = _norm(stripped)
        matches = [i for i, opt in enumerate(options) if _norm(opt) == reply and reply]
        if len(set(_norm(options[i]) for i in matches)) == 1:
            return valid[matches[0]]
    found = {g.upper() for g in _BRACKETED.findall(stripped)}
    if len(found) == 1:
        return ok(found.pop())
    return None
