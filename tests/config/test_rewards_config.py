"""`rewards:` in recipes: swapping the rule file drops the old file's params; `ablate`."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from viarl.config import load_recipe
from viarl.errors import UserError
from viarl.rewards import load_rules

REPO = Path(__file__).resolve().parents[2]
NEEDLE = "recipes/needle.yaml"
NEEDLE_PARAMS = {"min_tokens_small": 20, "min_tokens_large": 20, "max_tokens": 40}


@pytest.fixture(autouse=True)
def repo_cwd(monkeypatch):
    monkeypatch.chdir(REPO)


# shaped.rules reads `input difficulty`, which MLVU needle data does not carry: train on JSONL.
JSONL = ["data.synthetic=null", "data.train.format=jsonl"]


def _rewards(*overrides):
    return load_recipe(NEEDLE, [*JSONL, *overrides]).rewards


def test_swapping_the_file_drops_the_old_params():
    assert _rewards("rewards.file=rewards/shaped.rules").params == {}
    assert _rewards("rewards.file=rewards/shaped.rules",
                    "rewards.params.reasoning_weight=0.5").params == {"reasoning_weight": 0.5}
    # the order of the overrides does not matter
    assert _rewards("rewards.params.reasoning_weight=0.5",
                    "rewards.file=rewards/shaped.rules").params == {"reasoning_weight": 0.5}
    assert _rewards("rewards.file=./rewards/viarl.rules").params == NEEDLE_PARAMS  # same file
    assert _rewards(f"rewards.file={REPO}/rewards/viarl.rules").params == NEEDLE_PARAMS


def test_empty_params_clear_them():
    assert _rewards("rewards.params={}").params == {}
    assert _rewards("rewards.params={}", "rewards.params.max_tokens=99").params == {"max_tokens": 99}


def test_an_unknown_param_names_the_file_it_is_unknown_to():
    with pytest.raises(UserError) as e:
        _rewards("rewards.file=rewards/shaped.rules", "rewards.params.max_tokens=3")
    message = e.value.render()
    assert "`rewards.params.max_tokens`" in message
    assert "`rewards/shaped.rules` declares no parameter `max_tokens`" in message


def test_a_param_of_the_wrong_type_is_reported_under_its_key():
    with pytest.raises(UserError) as e:
        _rewards("rewards.params.max_tokens=2.5")
    assert "`rewards.params.max_tokens`" in e.value.render() and "is int" in e.value.render()


def test_a_recipe_that_changes_its_base_file_drops_the_base_params(tmp_path):
    (tmp_path / "child.yaml").write_text(f"base: {REPO / NEEDLE}\nrewards: {{file: rewards/shaped.rules}}\n"
                                         "data: {synthetic: null, train: {format: jsonl}}\n")
    assert load_recipe(tmp_path / "child.yaml").rewards.params == {}
    (tmp_path / "same.yaml").write_text(f"base: {REPO / NEEDLE}\nrewards: {{params: {{max_tokens: 30}}}}\n")
    assert load_recipe(tmp_path / "same.yaml").rewards.params == dict(NEEDLE_PARAMS, max_tokens=30)


def test_ablate_names_components():
    assert _rewards("rewards.ablate=[length, format]").ablate == ["length", "format"]
    with pytest.raises(UserError) as e:
        _rewards("rewards.ablate=[format, lenght]")
    message = e.value.render()
    assert "`rewards.ablate.1`" in message and "has no component `lenght`" in message
    assert "did you mean `length`?" in message
    with pytest.raises(UserError, match="has no component `length`"):
        _rewards("rewards.file=rewards/shaped.rules", "rewards.ablate=[length]")


FILES = {"rewards/viarl.rules": load_rules(REPO / "rewards/viarl.rules"),
         "rewards/shaped.rules": load_rules(REPO / "rewards/shaped.rules")}


@st.composite
def overrides(draw):
    """A recipe's reward overrides: maybe a new file, some of its params, in any order."""
    file = draw(st.sampled_from(sorted(FILES)))
    rules = FILES[file]
    names = draw(st.lists(st.sampled_from(sorted(rules.params)), unique=True))
    values = {n: draw(st.integers(0, 500) if rules.param_types[n] == "int" else
                      st.floats(0, 5).map(lambda x: round(x, 3))) for n in names}
    ops = [f"rewards.params.{n}={v}" for n, v in values.items()]
    if file != "rewards/viarl.rules" or draw(st.booleans()):
        ops.insert(draw(st.integers(0, len(ops))), f"rewards.file={file}")
    return file, values, ops


@settings(max_examples=30, deadline=None)
@given(overrides())
def test_generated_reward_overrides(case):
    file, values, ops = case
    got = _rewards(*ops)
    kept = NEEDLE_PARAMS if file == "rewards/viarl.rules" else {}
    assert got.file == file and got.params == {**kept, **values}
    FILES[file].compile(got.params)  # every kept value fits the file's declared type


def test_a_null_rule_file_is_only_for_recipes_without_rl():
    evaluation_only = ["stages.cycles=0", "stages.before=[eval]", "rewards.file=null"]
    assert load_recipe(NEEDLE, evaluation_only).rewards.params == {}  # the old file's are dropped
    with pytest.raises(UserError) as e:
        load_recipe(NEEDLE, ["rewards.file=null"])
    assert "`rewards.file`" in e.value.message and "stage `rl`" in e.value.message
    with pytest.raises(UserError) as e:
        load_recipe(NEEDLE, [*evaluation_only, "rewards.params.max_tokens=3"])
    assert "`rewards.params.max_tokens`" in e.value.message and "rewards.file is null" in e.value.message
