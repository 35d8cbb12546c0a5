"""Text → AST. The grammar (grammar.lark) is loaded once; syntax errors become `RuleError`s.

Lark's own exceptions never escape: unexpected characters, tokens and end of file are turned into
a plain sentence naming what was found and what could come next, and unbalanced brackets are
found by a separate scan so the caret points at the bracket that is actually unmatched.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

from lark import Lark, Token, Transformer, v_args
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


@lru_cache(maxsize=1)
def grammar() -> Lark:
    """The rule-language parser (built once per process)."""
    text = resources.files("viarl.rewards").joinpath("grammar.lark").read_text(encoding="utf-8")
    return Lark(text, parser="lalr", propagate_positions=True, maybe_placeholders=True)


def _tok_pos(tok: Token) -> ast.Pos:
    return ast.Pos(tok.line, tok.column, tok.end_line, tok.end_column)


def _meta_pos(meta) -> ast.Pos:
    if getattr(meta, "empty", True):
        return ast.NOPOS
    return ast.Pos(meta.line, meta.column, meta.end_line, meta.end_column)


def _span(first: ast.Pos, last: ast.Pos) -> ast.Pos:
    return ast.Pos(first.line, first.col, last.end_line, last.end_col)


def _number(text: str) -> int | float:
    return int(text) if text.lstrip("-").isdigit() else float(text)


@v_args(meta=True)
class _ToAst(Transformer):
    """Lark tree → AST dataclasses (one method per grammar alias)."""

    def __init__(self, path: str, source: str):
        super().__init__()
        self.path, self.source = path, source

    # -- statements
    def program(self, meta, stmts):
        return ast.Program(tuple(stmts), source=self.source, path=self.path)

    def param(self, meta, c):
        name, typ, (value, vpos) = c
        return ast.Param(str(name), str(typ), value, pos=_tok_pos(name), default_pos=vpos)

    def input_decl(self, meta, c):
        return ast.Input(str(c[0]), str(c[1]), pos=_tok_pos(c[0]))

    def capture(self, meta, c):
        name, source, regex, group, default = c
        regex = self.regex(None, [regex])
        return ast.Capture(str(name), source, regex, group, default, pos=_tok_pos(name))

    def let(self, meta, c):
        return ast.Let(str(c[0]), c[1], pos=_tok_pos(c[0]))

    def component(self, meta, c):
        return ast.Component(str(c[0]), c[1], c[2], pos=_tok_pos(c[0]))

    def needs(self, meta, c):
        return ast.Needs(str(c[0]), c[1], pos=_tok_pos(c[0]))

    def total(self, meta, c):
        return ast.Total(c[0], pos=_meta_pos(meta))

    def group_index(self, meta, c):
        return int(c[0])

    def _nothing(self, meta, c):
        return None

    no_group = no_default = no_weight = always = _nothing

    def _first(self, meta, c):
        return c[0]

    default_expr = weight_expr = when_expr = _first
    pass_expr = pass_or = pass_and = pass_not = pass_compare = _first
    pass_sum = pass_product = pass_unary = paren = _first

    # -- literals of `param` (value, position)
    def lit_number(self, meta, c):
        return _number(str(c[0])), _tok_pos(c[0])

    def lit_string(self, meta, c):
        return self._string(c[0]), _tok_pos(c[0])

    def lit_true(self, meta, c):
        return True, _meta_pos(meta)

    def lit_false(self, meta, c):
        return False, _meta_pos(meta)

    # -- expressions
    def number(self, meta, c):
        return ast.Number(_number(str(c[0])), pos=_tok_pos(c[0]))

    def string(self, meta, c):
        return ast.String(self._string(c[0]), pos=_tok_pos(c[0]))

    def _string(self, tok: Token) -> str:
        try:
            return json.loads(str(tok))
        except json.JSONDecodeError:
            raise error_at(
                self.path, self.source, _tok_pos(tok), "bad escape in string",
                fix=r'strings use JSON escapes: \" \\ \n \t \uXXXX',
            ) from None

    def regex(self, meta, c):
        text = str(c[0])
        end = text.rindex('"')
        return ast.Regex(text[3:end], text[end + 1 :], pos=_tok_pos(c[0]))

    def true(self, meta, c):
        return ast.Bool(True, pos=_meta_pos(meta))

    def false(self, meta, c):
        return ast.Bool(False, pos=_meta_pos(meta))

    def name(self, meta, c):
        return ast.Name(str(c[0]), pos=_tok_pos(c[0]))

    def call(self, meta, c):
        args = tuple(a for a in c[1:] if a is not None)
        return ast.Call(str(c[0]), args, pos=_meta_pos(meta))

    def neg(self, meta, c):
        return ast.Unary("-", c[0], pos=_meta_pos(meta))

    def not_op(self, meta, c):
        return ast.Unary("not", c[0], pos=_meta_pos(meta))

    def binop(self, meta, c):
        return ast.Binary(str(c[1]), c[0], c[2], pos=_span(c[0].pos, c[2].pos))

    compare = binop

    def or_op(self, meta, c):
        return ast.Binary("or", c[0], c[1], pos=_span(c[0].pos, c[1].pos))

    def and_op(self, meta, c):
        return ast.Binary("and", c[0], c[1], pos=_span(c[0].pos, c[1].pos))

    def if_expr(self, meta, c):
        return ast.IfElse(c[0], c[1], c[2], pos=_meta_pos(meta))


def parse_program(source: str, path: str = "<rules>") -> ast.Program:
    """Parse rule-file text into an (unchecked) AST; RuleError on any syntax error."""
    try:
        tree = grammar().parse(source)
    except UnexpectedInput as e:
        raise _syntax_error(e, source, path) from None
    try:
        return _ToAst(path, source).transform(tree)
    except Exception as e:  # lark wraps errors raised inside the transformer
        inner = getattr(e, "orig_exc", e)
        if isinstance(inner, RuleError):
            raise inner from None
        raise


# ---- syntax errors -------------------------------------------------------------------------


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


def _describe_expected(names: set[str]) -> str:
    parser = grammar()
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


def _syntax_error(e: UnexpectedInput, source: str, path: str) -> RuleError:
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
        expected = _describe_expected(names - {"$END"})
        return error_at(path, source, _end_pos(source), "unexpected end of file",
                        f"expected {expected}")
    assert isinstance(e, UnexpectedToken)
    tok = e.token
    expected = _acceptable(e)
    message = f"unexpected {_describe_token(tok)}"
    fix = f"expected {_describe_expected(expected)}"
    line_start = source.splitlines()[tok.line - 1][: tok.column - 1].strip() == ""
    if tok.value == "=" and "COMP_OP" in expected:
        fix = "use `==` to compare"
    elif line_start and expected & {k.upper() for k in STATEMENT_KEYWORDS}:
        message = f"unexpected {_describe_token(tok)} at the start of a statement"
        fix = "each statement starts with " + ", ".join(STATEMENT_KEYWORDS)
    return error_at(path, source, _tok_pos(tok), message, fix)


def _acceptable(e: UnexpectedToken) -> set[str]:
    """Terminals truly acceptable at the error (LALR's `expected` can over-approximate)."""
    try:
        return set(e.interactive_parser.accepts()) or set(e.expected)
    except Exception:  # noqa: BLE001 - any failure here just means a less precise message
        return set(e.expected)
