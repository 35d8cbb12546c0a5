"""Lark parse failures → plain, located RuleErrors.

Unexpected characters, tokens and end of file become a sentence naming what was found and what
could come next; unbalanced brackets are found by a separate scan so the caret points at the
bracket that is actually unmatched.
"""

from __future__ import annotations

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from viarl.rewards import ast
from viarl.rewards.errors import RuleError, error_at

STATEMENT_KEYWORDS = ("param", "input", "capture", "let", "component", "needs", "total")

_TERMINAL_WORDS = {
    "NAME": "a name",
    "NUMBER": "a number",
    "SIGNED_NUMBER": "a number",
    "INT": "a whole number",
    "STRING": 'a string "…"',
    "REGEX": 'a regex re"…"',
    "TYPE": "a type (num, int, bool, str)",
    "COMP_OP": "a comparison (== != < <= > >=)",
    "ADD_OP": "`+` or `-`",
    "MUL_OP": "`*` or `/`",
    "$END": "end of file",
}



def _pos_of_offset(source: str, offset: int) -> ast.Pos:
    line = source.count("\n", 0, offset) + 1
    col = offset - (source.rfind("\n", 0, offset) + 1) + 1
    return ast.Pos(line, col, line, col + 1)


def unbalanced_bracket(source: str) -> tuple[ast.Pos, str, str] | None:
    """The first unmatched `(` / `)` outside strings, regexes and comments, or None.

    Returns (position, message, fix).
    """
    stack: list[int] = []
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if ch == "#":
            nl = source.find("\n", i)
            i = n if nl < 0 else nl
            continue
        if ch == '"':  # a string, or the body of re"…": skip to the closing quote
            i += 1
            while i < n and source[i] not in '"\n':
                i += 2 if source[i] == "\\" else 1
        elif ch == "(":
            stack.append(i)
        elif ch == ")":
            if not stack:
                return _pos_of_offset(source, i), "unmatched `)`", "remove it or add the `(` it closes"
            stack.pop()
        i += 1
    if stack:
        return _pos_of_offset(source, stack[-1]), "unclosed `(`", "add the `)` that closes it"
    return None


def _describe_expected(names: set[str], parser: Lark) -> str:
    words = set()
    for name in names:
        if name in _TERMINAL_WORDS:
            words.add(_TERMINAL_WORDS[name])
            continue
        try:
            pattern = parser.get_terminal(name).pattern
            words.add(f"`{pattern.value}`" if pattern.type == "str" else name.lower())
        except KeyError:
            words.add(name.lower())
    ordered = sorted(words, key=lambda w: (w.startswith("`"), w))
    if len(ordered) > 8:
        ordered = ordered[:8] + ["…"]
    return ", ".join(ordered)


def _describe_token(tok: Token) -> str:
    if tok.type == "$END":
        return "end of file"
    if tok.type == "NAME":
        return f"name `{tok.value}`"
    if tok.type in ("NUMBER", "SIGNED_NUMBER", "INT"):
        return f"number `{tok.value}`"
    if tok.type in ("STRING", "REGEX"):
        return f"{'string' if tok.type == 'STRING' else 'regex'} {tok.value}"
    return f"`{tok.value}`"


def _end_pos(source: str) -> ast.Pos:
    stripped = source.rstrip()
    if not stripped:
        return ast.Pos(1, 1, 1, 2)
    pos = _pos_of_offset(stripped, len(stripped) - 1)
    return ast.Pos(pos.line, pos.col + 1, pos.line, pos.col + 2)


def syntax_error(e: UnexpectedInput, source: str, path: str, parser: Lark) -> RuleError:
    """The RuleError for a Lark parse failure `e` of `source` (read from `path`)."""
    bracket = unbalanced_bracket(source)
    if bracket is not None:
        pos, message, fix = bracket
        return error_at(path, source, pos, message, fix)
    if isinstance(e, UnexpectedCharacters):
        pos = ast.Pos(e.line, e.column, e.line, e.column + 1)
        fix = "strings use double quotes" if e.char == "'" else "remove the character"
        if e.char == "/":
            fix = 'regexes are written re"…" (add flags after the quote, e.g. re"a.b"s)'
        return error_at(path, source, pos, f"unexpected character `{e.char}`", fix)
    if isinstance(e, UnexpectedEOF) or (
        isinstance(e, UnexpectedToken) and e.token.type == "$END"
    ):
        names = _acceptable(e) if isinstance(e, UnexpectedToken) else set(e.expected)
        expected = _describe_expected(names - {"$END"}, parser)
        return error_at(path, source, _end_pos(source), "unexpected end of file",
                        f"expected {expected}")
    assert isinstance(e, UnexpectedToken)
    tok = e.token
    expected = _acceptable(e)
    message = f"unexpected {_describe_token(tok)}"
    fix = f"expected {_describe_expected(expected, parser)}"
    line_start = source.splitlines()[tok.line - 1][: tok.column - 1].strip() == ""
    if tok.value == "=" and "COMP_OP" in expected:
        fix = "use `==` to compare"
    elif line_start and expected & {k.upper() for k in STATEMENT_KEYWORDS}:
        message = f"unexpected {_describe_token(tok)} at the start of a statement"
        fix = "each statement starts with " + ", ".join(STATEMENT_KEYWORDS)
    return error_at(path, source, ast.Pos(tok.line, tok.column, tok.end_line, tok.end_column), message, fix)


def _acceptable(e: UnexpectedToken) -> set[str]:
    """Terminals truly acceptable at the error (LALR's `expected` can over-approximate)."""
    try:
        return set(e.interactive_parser.accepts()) or set(e.expected)
    except Exception:  # noqa: BLE001 - any failure here just means a less precise message
        return set(e.expected)
