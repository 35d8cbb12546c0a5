"""Hypothesis strategies for well-typed rule programs and matching batches.

Programs are built as ASTs (so they are well-typed by construction), printed with the canonical
printer, and fed back through the real parser and checker by the tests.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from viarl.rewards import ast

# Names available to every generated program, by type.
INPUTS = {"completion": "str", "completion_tokens": "int", "answer": "str", "candidates": "int",
          "select": "int", "score": "num", "flag": "bool", "tag": "str"}
EXTRA_DECLS = [ast.Input("score", "num"), ast.Input("flag", "bool"), ast.Input("tag", "str")]
PARAMS = [ast.Param("p_num", "num", 0.5), ast.Param("p_int", "int", 3),
          ast.Param("p_bool", "bool", True), ast.Param("p_str", "str", "a")]

REGEXES = [ast.Regex("<think>(.*?)</think>", "s"), ast.Regex(r"<index>(.*?)</index>", "s"),
           ast.Regex(r"\d+"), ast.Regex("[a-c]", "i"), ast.Regex(r"(a)(b)?"),
           ast.Regex(r"^\s*<index>", "m"), ast.Regex(r"\"q\""), ast.Regex("x|$")]

numbers = st.one_of(st.integers(0, 20), st.floats(0, 100, allow_nan=False).map(lambda x: round(x, 3)))
strings = st.sampled_from(["", "a", "A", " (b). ", "<index>1,2</index>", "x\ny", 'q"u\\o', "٣",
                           " 12 ", "-3.5", "1e3", "7,3,3"])


def _names(env: dict[str, str], *types: str) -> list[str]:
    return sorted(n for n, t in env.items() if t in types)


_INT_LIT = st.integers(0, 20)
_BOOL = st.booleans()


def _pick(draw, options: list):
    return options[draw(st.integers(0, len(options) - 1))]


def gen_expr(draw, t: str, env: dict[str, str], depth: int = 3) -> ast.Expr:
    """A random expression of type `t` ("num", "int", "bool", "str") over names in `env`.

    Written as plain recursion over `draw` of small primitive strategies: building nested
    strategies for every node makes generation many times slower.
    """
    names = _names(env, *(("num", "int") if t == "num" else (t,)))
    if t == "list":
        return gen_list(draw, env, depth)
    if depth <= 0 or draw(st.integers(0, 3)) == 0:
        if names and draw(_BOOL):
            return ast.Name(_pick(draw, names))
        if t == "num":
            return ast.Number(draw(numbers))
        if t == "int":
            return ast.Number(draw(_INT_LIT))
        if t == "bool":
            return ast.Bool(draw(_BOOL))
        return ast.String(draw(strings))
    sub = lambda k: gen_expr(draw, k, env, depth - 1)  # noqa: E731
    if t in ("num", "int"):
        arith = ["+", "-", "*"] + (["/"] if t == "num" else [])
        kind = _pick(draw, ["arith", "minmax", "clip", "len", "len_list", "count", "if", "neg",
                            "abs", "reduce", "index", "parse"] + (["num", "mean"] if t == "num" else []))
        if kind == "reduce":
            return ast.Call(_pick(draw, ["min", "max", "sum"]), (sub("list"),))
        if kind == "index":
            return ast.Index(sub("list"), sub("int"))
        if kind == "parse":
            f = "int" if t == "int" or draw(_BOOL) else "num"
            return ast.Call(f, (sub("str"), sub("int" if f == "int" else "num")))
        if kind == "mean":
            return ast.Call("mean", (sub("list"),))
        if kind == "arith":
            return ast.Binary(_pick(draw, arith), sub(t), sub(t))
        if kind == "minmax":
            return ast.Call(_pick(draw, ["min", "max"]), tuple(sub(t) for _ in range(draw(st.integers(2, 3)))))
        if kind == "clip":
            return ast.Call("clip", (sub(t), sub(t), sub(t)))
        if kind == "len":
            return ast.Call("len", (sub("str"),))
        if kind == "len_list":
            return ast.Call("len", (ast.Call("indices", (sub("str"),)),))
        if kind == "count":
            return ast.Call("count", (sub("str"), _pick(draw, REGEXES)))
        if kind == "if":
            return ast.IfElse(sub("bool"), sub(t), sub(t))
        if kind == "neg":
            return ast.Unary("-", sub(t))
        if kind == "abs":
            return ast.Call("abs", (sub(t),))
        return ast.Call("num", (sub("bool"),))
    if t == "bool":
        kind = _pick(draw, ["cmp", "streq", "logic", "not", "regex", "between", "is_list",
                            "valid", "unique", "answer", "if"])
        if kind == "cmp":
            return ast.Binary(_pick(draw, list(ast.COMPARE_OPS)), sub("num"), sub("num"))
        if kind == "streq":
            return ast.Binary(_pick(draw, ["==", "!="]), sub("str"), sub("str"))
        if kind == "logic":
            return ast.Binary(_pick(draw, ["and", "or"]), sub("bool"), sub("bool"))
        if kind == "not":
            return ast.Unary("not", sub("bool"))
        if kind == "regex":
            return ast.Call(_pick(draw, ["search", "fullmatch"]), (sub("str"), _pick(draw, REGEXES)))
        if kind == "between":
            return ast.Call("between", (sub("num"), sub("num"), sub("num")))
        if kind == "is_list":
            return ast.Call("is_index_list", (sub("str"),))
        if kind == "valid":
            return ast.Call("valid_indices", (sub("str"), sub("int"), sub("int")))
        if kind == "unique":
            return ast.Call("unique", (ast.Call("indices", (sub("str"),)),))
        if kind == "answer":
            return ast.Call("answer_match", (sub("str"), sub("str")))
        return ast.IfElse(sub("bool"), sub("bool"), sub("bool"))
    if draw(_BOOL):
        return ast.Call(_pick(draw, ["strip", "lower", "index_block"]), (sub("str"),))
    return ast.IfElse(sub("bool"), sub("str"), sub("str"))


def gen_list(draw, env: dict[str, str], depth: int) -> ast.Expr:
    """A random list expression: parsed indices, sorted, gaps, a list-typed name or an `if`."""
    names = _names(env, "list")
    if depth <= 0 or draw(st.integers(0, 2)) == 0:
        if names and draw(_BOOL):
            return ast.Name(_pick(draw, names))
        return ast.Call("indices", (gen_expr(draw, "str", env, max(depth - 1, 0)),))
    kind = _pick(draw, ["sorted", "gaps", "if"])
    if kind == "if":
        return ast.IfElse(gen_expr(draw, "bool", env, depth - 1), gen_list(draw, env, depth - 1),
                          gen_list(draw, env, depth - 1))
    return ast.Call(kind, (gen_list(draw, env, depth - 1),))


def expr_of(t: str, env: dict[str, str], depth: int = 3):
    """Strategy form of `gen_expr`."""
    return st.composite(lambda draw: gen_expr(draw, t, env, depth))()


@st.composite
def programs(draw, max_defs: int = 5, use_prediction: bool = True) -> ast.Program:
    """A well-typed program: params, extra inputs, captures, lets, components, needs, total."""
    env = dict(INPUTS) | {p.name: p.type for p in PARAMS}
    stmts: list[ast.Stmt] = list(PARAMS) + list(EXTRA_DECLS)
    defs: list[ast.Stmt] = []
    for i in range(draw(st.integers(0, max_defs))):
        kind = draw(st.sampled_from(["capture", "let", "let"]))
        if kind == "capture":
            regex = draw(st.sampled_from(REGEXES))
            groups = {"<think>(.*?)</think>": 1, "<index>(.*?)</index>": 1, "(a)(b)?": 2}.get(regex.pattern, 0)
            group = draw(st.none() | st.integers(0, groups)) if groups else None
            source = ast.Name("completion") if draw(_BOOL) else gen_expr(draw, "str", env, 1)
            default = gen_expr(draw, "str", env, 1) if draw(_BOOL) else None
            defs.append(ast.Capture(f"c{i}", source, regex, group, default))
            env[f"c{i}"] = "str"
        else:
            t = draw(st.sampled_from(["num", "int", "bool", "str", "list"]))
            defs.append(ast.Let(f"v{i}", gen_expr(draw, t, env)))
            env[f"v{i}"] = t
    ncomp = draw(st.integers(1, 3))
    for i in range(ncomp):
        t = draw(st.sampled_from(["num", "bool"]))
        weight = gen_expr(draw, "num", env, 1) if draw(_BOOL) else None
        defs.append(ast.Component(f"k{i}", gen_expr(draw, t, env), weight))
    if use_prediction and draw(st.booleans()):
        cond = gen_expr(draw, "bool", env, 2) if draw(_BOOL) else None
        defs.append(ast.Needs("prediction", cond))
        if draw(_BOOL):
            defs.append(ast.Component("correct", ast.Call("answer_match", (ast.Name("prediction"), ast.Name("answer")))))
            env["correct"] = "num"
        if draw(_BOOL) or "correct" not in env:
            defs.append(ast.Component("short", ast.Binary("<", ast.Name("answer_tokens"), gen_expr(draw, "int", env, 1))))
            env["short"] = "num"
    if not any(isinstance(d, ast.Component) and d.weight is not None for d in defs) and draw(st.booleans()):
        defs.append(ast.Total(gen_expr(draw, "num", env)))
    # Declarations may come in any order: shuffle to exercise forward references.
    return ast.Program(tuple(stmts + draw(st.permutations(defs))))


COMPLETION_PARTS = ["<think>", "</think>", "<index>", "</index>", "1", "2", "3", "10", ",", " ",
                    "\n", "[", "]", "a", "b", "x", "-", ".", "٣", '"q"', "A"]


@st.composite
def batches(draw, min_size: int = 1, max_size: int = 6) -> dict:
    """A batch for programs from `programs()` (prediction present everywhere)."""
    n = draw(st.integers(min_size, max_size))
    text = st.lists(st.sampled_from(COMPLETION_PARTS), max_size=14).map("".join)
    col = lambda s: draw(st.lists(s, min_size=n, max_size=n))  # noqa: E731
    return {
        "completion": col(text),
        "completion_tokens": col(st.integers(0, 600)),
        "prediction": col(st.sampled_from(["A", " (a). ", "B", "", "A or B"])),
        "answer_tokens": col(st.integers(0, 30)),
        "answer": col(st.sampled_from(["A", "B"])),
        "candidates": np.array(col(st.integers(1, 12))),
        "select": col(st.integers(1, 4)),
        "score": col(st.floats(-50, 50, allow_nan=False)),
        "flag": col(st.booleans()),
        "tag": col(strings),
    }
