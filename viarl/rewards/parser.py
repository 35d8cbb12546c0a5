"""Text → AST. The grammar (grammar.lark) is loaded once; syntax errors become `RuleError`s.

Lark's own exceptions never escape: syntax_errors.py turns them into located RuleErrors.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

from lark import Lark, Token, Transformer_NonRecursive, v_args
from lark.exceptions import UnexpectedInput

from viarl.rewards import ast
from viarl.rewards.errors import RuleError, error_at
from viarl.rewards.syntax_errors import syntax_error

@lru_cache(maxsize=1)
def grammar() -> Lark:
    """The rule-language parser (built once per process)."""
    text = resources.files("viarl.rewards").joinpath("grammar.lark").read_text(encoding="utf-8")
    return Lark(text, parser="lalr", propagate_positions=True, maybe_placeholders=True)


def _span(first: ast.Pos, last: ast.Pos) -> ast.Pos:
    return ast.Pos(first.line, first.col, last.end_line, last.end_col, first.file)


def _number(text: str) -> int | float:
    return int(text) if text.lstrip("-").isdigit() else float(text)


@v_args(meta=True)
class _ToAst(Transformer_NonRecursive):
    """Lark tree → AST dataclasses (one method per grammar alias); iterative, so the depth of the
    parse tree (70 nested parentheses are some 700 levels of it) never meets Python's recursion limit."""

    def __init__(self, path: str, source: str):
        super().__init__()
        self.path, self.source = path, source
        self.file = ast.SourceFile(path, source)

    def _tok_pos(self, tok: Token) -> ast.Pos:
        return ast.Pos(tok.line, tok.column, tok.end_line, tok.end_column, self.file)

    def _meta_pos(self, meta) -> ast.Pos:
        if getattr(meta, "empty", True):
            return ast.NOPOS
        return ast.Pos(meta.line, meta.column, meta.end_line, meta.end_column, self.file)

    # -- statements
    def program(self, meta, stmts):
        return ast.Program(tuple(stmts), source=self.source, path=self.path)

    def include(self, meta, c):
        return ast.Include(self._string(c[0]), pos=self._tok_pos(c[0]))

    def param(self, meta, c):
        name, typ, (value, vpos) = c
        return ast.Param(str(name), str(typ), value, pos=self._tok_pos(name), default_pos=vpos)

    def input_decl(self, meta, c):
        return ast.Input(str(c[0]), str(c[1]), pos=self._tok_pos(c[0]))

    def capture(self, meta, c):
        name, source, regex, group, default = c
        regex = self.regex(None, [regex])
        return ast.Capture(str(name), source, regex, group, default, pos=self._tok_pos(name))

    def let(self, meta, c):
        return ast.Let(str(c[0]), c[1], pos=self._tok_pos(c[0]))

    def component(self, meta, c):
        return ast.Component(str(c[0]), c[1], c[2], pos=self._tok_pos(c[0]))

    def needs(self, meta, c):
        return ast.Needs(str(c[0]), c[1], pos=self._tok_pos(c[0]))

    def total(self, meta, c):
        return ast.Total(c[0], pos=self._meta_pos(meta))

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
        return _number(str(c[0])), self._tok_pos(c[0])

    def lit_string(self, meta, c):
        return self._string(c[0]), self._tok_pos(c[0])

    def lit_true(self, meta, c):
        return True, self._meta_pos(meta)

    def lit_false(self, meta, c):
        return False, self._meta_pos(meta)

    # -- expressions
    def number(self, meta, c):
        return ast.Number(_number(str(c[0])), pos=self._tok_pos(c[0]))

    def string(self, meta, c):
        return ast.String(self._string(c[0]), pos=self._tok_pos(c[0]))

    def _string(self, tok: Token) -> str:
        try:
            return json.loads(str(tok))
        except json.JSONDecodeError:
            raise error_at(
                self.path, self.source, self._tok_pos(tok), "bad escape in string",
                fix=r'strings use JSON escapes: \" \\ \n \t \uXXXX',
            ) from None

    def regex(self, meta, c):
        text = str(c[0])
        end = text.rindex('"')
        return ast.Regex(text[3:end], text[end + 1 :], pos=self._tok_pos(c[0]))

    def true(self, meta, c):
        return ast.Bool(True, pos=self._meta_pos(meta))

    def false(self, meta, c):
        return ast.Bool(False, pos=self._meta_pos(meta))

    def name(self, meta, c):
        return ast.Name(str(c[0]), pos=self._tok_pos(c[0]))

    def call(self, meta, c):
        args = tuple(a for a in c[1:] if a is not None)
        return ast.Call(str(c[0]), args, pos=self._meta_pos(meta))

    def index(self, meta, c):
        return ast.Index(c[0], c[1], pos=self._meta_pos(meta))

    def neg(self, meta, c):
        return ast.Unary("-", c[0], pos=self._meta_pos(meta))

    def not_op(self, meta, c):
        return ast.Unary("not", c[0], pos=self._meta_pos(meta))

    def binop(self, meta, c):
        return ast.Binary(str(c[1]), c[0], c[2], pos=_span(c[0].pos, c[2].pos))

    compare = binop

    def or_op(self, meta, c):
        return ast.Binary("or", c[0], c[1], pos=_span(c[0].pos, c[1].pos))

    def and_op(self, meta, c):
        return ast.Binary("and", c[0], c[1], pos=_span(c[0].pos, c[1].pos))

    def if_expr(self, meta, c):
        return ast.IfElse(c[0], c[1], c[2], pos=self._meta_pos(meta))


def parse_program(source: str, path: str = "<rules>") -> ast.Program:
    """Parse rule-file text into an (unchecked) AST; RuleError on any syntax error."""
    try:
        tree = grammar().parse(source)
    except UnexpectedInput as e:
        raise syntax_error(e, source, path, grammar()) from None
    try:
        program = _ToAst(path, source).transform(tree)
    except Exception as e:  # lark wraps errors raised inside the transformer
        inner = getattr(e, "orig_exc", e)
        if isinstance(inner, RuleError):
            raise inner from None
        raise
    check_nesting(program)
    return program


#: Deepest expression the checker, compiler and printer (all recursive) are given.
MAX_NESTING = 100


def _subexpressions(node) -> tuple:
    if isinstance(node, ast.Call):
        return node.args
    if isinstance(node, ast.Unary):
        return (node.operand,)
    if isinstance(node, (ast.Binary, ast.Index)):
        return (node.left, node.right) if isinstance(node, ast.Binary) else (node.target, node.index)
    if isinstance(node, ast.IfElse):
        return node.cond, node.then, node.orelse
    if isinstance(node, ast.Capture):
        return node.source, node.default
    if isinstance(node, (ast.Let, ast.Total)):
        return (node.value,)
    if isinstance(node, ast.Component):
        return node.value, node.weight
    return (node.when,) if isinstance(node, ast.Needs) else ()


def check_nesting(program: ast.Program) -> None:
    """RuleError at the statement whose expression nests deeper than MAX_NESTING (a sum of 400
    terms is 400 levels deep), counted without recursion."""
    for stmt in program.stmts:
        stack = [(stmt, 0)]
        while stack:
            node, depth = stack.pop()
            if depth > MAX_NESTING:
                raise error_at(program.path, program.source, stmt.pos,
                               f"this expression nests more than {MAX_NESTING} levels deep "
                               "(each operator, call or parenthesis is a level)",
                               fix="split it into `let` steps, e.g. let a = x1 + … + x50, then a + b")
            stack.extend((child, depth + 1) for child in _subexpressions(node) if child is not None)
