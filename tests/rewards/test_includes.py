"""`include`: flattening equals the inlined file; redefined params and total; loading from disk."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rule_strategies import PARAMS, batches, gen_expr, programs
from viarl.rewards import RuleError, ast, load_rules
from viarl.rewards.checker import check
from viarl.rewards.includes import flatten
from viarl.rewards.parser import parse_program
from viarl.rewards.printer import print_program
from viarl.rewards.program import RuleProgram


def _text(stmts) -> str:
    return print_program(ast.Program(tuple(stmts)))


@settings(max_examples=80, deadline=None)
@given(programs(), st.data())
def test_include_flattening_equals_the_inlined_file(program, data):
    stmts = list(program.stmts)
    k = data.draw(st.integers(0, len(stmts)))
    j = data.draw(st.integers(k, len(stmts)))
    base, before, after = stmts[:k], stmts[k:j], stmts[j:]
    files = {"rules/base.rules": _text(base)}
    main = _text(before) + 'include "base.rules"\n' + _text(after)
    flat = flatten(parse_program(main, "rules/main.rules"), read=files.__getitem__)
    assert flat == ast.Program(tuple(before + base + after)), main
    assert print_program(parse_program(main)) == main  # the printer writes includes back


@settings(max_examples=60, deadline=None)
@given(programs(), batches(), st.data())
def test_redefined_params_act_like_overrides(program, batch, data):
    values = {"p_num": st.floats(0, 10, allow_nan=False).map(lambda x: round(x, 2)),
              "p_int": st.integers(0, 9), "p_bool": st.booleans(), "p_str": st.sampled_from(["a", "b"])}
    chosen = data.draw(st.lists(st.sampled_from(PARAMS), unique=True))
    new = {p.name: data.draw(values[p.name]) for p in chosen}
    main = 'include "base.rules"\n' + _text(ast.Param(p.name, p.type, new[p.name]) for p in chosen)
    files = {"base.rules": print_program(program)}
    included = RuleProgram(check(parse_program(main, "main.rules"), read=files.__getitem__))
    plain = RuleProgram(check(parse_program(files["base.rules"], "base.rules")))
    assert included.params == plain.bind(new)
    a, b = included.compile()(batch), plain.compile(new)(batch)
    for name in b:
        np.testing.assert_array_equal(a[name], b[name])
    assert [name for name, _ in included.ast.redefined] == [p.name for p in PARAMS if p in chosen]


@settings(max_examples=40, deadline=None)
@given(programs(), batches(), st.data())
def test_redefined_total_replaces_the_included_one(program, batch, data):
    plain = RuleProgram(check(parse_program(print_program(program), "base.rules")))
    env = {c: "num" for c in plain.components} | {"select": "int"}
    total = gen_expr(data.draw, "num", env, 2)
    weighted = any(isinstance(s, ast.Component) and s.weight is not None for s in program.stmts)
    main = f'include "base.rules"\n{_text([ast.Total(total)])}'
    files = {"base.rules": print_program(program)}
    if weighted:  # a written-out total would silently drop the weights: still an error
        with pytest.raises(RuleError, match="the weight would be ignored"):
            check(parse_program(main, "main.rules"), read=files.__getitem__)
        return
    included = RuleProgram(check(parse_program(main, "main.rules"), read=files.__getitem__))
    stmts = [s for s in program.stmts if not isinstance(s, ast.Total)] + [ast.Total(total)]
    inlined = RuleProgram(check(ast.Program(tuple(stmts))))
    a, b = included.compile()(batch), inlined.compile()(batch)
    for name in b:
        np.testing.assert_array_equal(a[name], b[name])


def test_includes_on_disk_nest_relative_to_each_file(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "base.rules").write_text('include "../common.rules"\nparam w: num = 1\n'
                                                 "component a = select * w\n")
    (tmp_path / "common.rules").write_text("component b = 2\n")
    (tmp_path / "top.rules").write_text('include "lib/base.rules"\ninclude "common.rules"\n'
                                        "param w: num = 3\ntotal = a + b\n")
    rules = load_rules(tmp_path / "top.rules")  # common.rules reached twice: inlined once
    assert rules.components == ["b", "a"] and rules.params == {"w": 3}
    assert rules.compile()({"select": [1, 2]})["total"].tolist() == [5.0, 8.0]
    origin = {s.name: s.pos.file.path for s in rules.ast.stmts if hasattr(s, "name")}
    assert origin["a"].endswith("lib/base.rules") and origin["w"].endswith("top.rules")


def test_a_total_in_two_included_files_is_a_duplicate(tmp_path):
    (tmp_path / "a.rules").write_text("component a = 1\ntotal = a\n")
    (tmp_path / "b.rules").write_text("component b = 1\ntotal = b\n")
    (tmp_path / "top.rules").write_text('include "a.rules"\ninclude "b.rules"\n')
    with pytest.raises(RuleError, match="`total` is defined twice") as e:
        load_rules(tmp_path / "top.rules")
    assert "b.rules:2:1" in e.value.where and "a.rules:2:1" in e.value.fix
