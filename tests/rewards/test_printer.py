"""Round trip: generated programs print, re-parse and re-check to the same AST."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis.extra.lark import from_lark
from hypothesis import strategies as st

from rule_strategies import programs
from viarl.rewards import RuleError
from viarl.rewards.checker import check
from viarl.rewards.parser import grammar, parse_program
from viarl.rewards.printer import print_program


@settings(max_examples=100, deadline=None)
@given(programs())
def test_print_then_parse_gives_the_same_ast(program):
    text = print_program(program)
    reparsed = parse_program(text, "gen.rules")
    assert reparsed == program, text
    check(reparsed)  # well-typed by construction: the checker must accept it
    assert print_program(reparsed) == text  # printing is canonical


def test_default_rules_round_trip():
    source = open("rewards/viarl.rules", encoding="utf-8").read()
    program = parse_program(source, "rewards/viarl.rules")
    assert parse_program(print_program(program)) == program


# Strings straight from the grammar (not necessarily meaningful): the loader either accepts them
# or raises RuleError; no other exception may escape.
_terminals = {
    "NAME": st.sampled_from(["a", "b", "completion", "select", "prediction", "len", "then"]),
    "STRING": st.sampled_from(['""', '"x"', r'"\q"']),
    "REGEX": st.sampled_from(['re"a"', 're"(a"', 're"(b)"s']),
    "WS": st.just(" "),
    "COMMENT": st.just("# c\n"),
}


@pytest.mark.slow
@settings(max_examples=40, deadline=None)
@given(from_lark(grammar(), explicit=_terminals, alphabet=st.characters(min_codepoint=32, max_codepoint=126)))
def test_grammar_strings_load_or_raise_rule_error(text):
    from viarl.rewards import parse_rules

    try:
        parse_rules(text, "gen.rules")
    except RuleError as e:
        assert e.where and e.where.startswith("gen.rules")
