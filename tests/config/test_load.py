"""load_recipe: every kind of bad input is ONE UserError naming the field path (or line:col)."""

import os
import re
from pathlib import Path

import pytest

from viarl.config import load_recipe
from viarl.config.load import merge_over
from viarl.errors import UserError

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "config"
# A frozen copy of an earlier recipes/needle.yaml: these tests mutate its text and pin line numbers,
# so they must not follow the shipped recipe's tuning.
FROZEN = "tests/fixtures/config/needle_frozen.yaml"
NEEDLE = (REPO / FROZEN).read_text()


def _sub(old: str, new: str):
    def mutate(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, 1)

    return mutate


# (mutation of needle.yaml, text the message must contain: the dotted path and/or line:col)
MUTATIONS = {
    "unknown top key": (_sub("seed: 0\n", "sede: 0\n"), ["`sede`", "did you mean `seed`", ":11:1"]),
    "unknown deep key": (_sub("kl_coef:", "kl_cof:"), ["`rl.kl_cof`", "did you mean `rl.kl_coef`"]),
    "unknown deepest key": (_sub("tiny_seed: 0,", "tiny_sed: 0,"), ["`models.selector.tiny_sed`", "did you mean"]),
    "wrong type": (_sub("steps: 300", "steps: many"), ["`rl.steps` = 'many'", "whole number"]),
    "float for int": (_sub("candidates: 16", "candidates: 16.5"), ["`frames.candidates` = 16.5"]),
    "select > candidates": (_sub("select: 4 ", "select: 40 "), ["`frames.select`", "larger than candidates"]),
    "missing reward file": (_sub("file: rewards/viarl.rules", "file: rewards/missing.rules"),
                            ["`rewards.file`", "rewards/missing.rules", "does not exist"]),
    "list for mapping": (_sub("logging: {log_every: 10, progress: true, sample_every: 50}", "logging: [10, true]"),
                         ["`logging` = list", "expected a mapping"]),
    "unknown stage kind": (_sub("cycle: [rl, sft]", "cycle: [rl, stf]"), ["`stages.cycle.1` = 'stf'", "did you mean `sft`"]),
    "empty cycle": (_sub("cycle: [rl, sft]", "cycle: []"), ["`stages.cycle`", "cycles is 2"]),
    "negative kl": (_sub("kl_coef: 1.0e-3", "kl_coef: -0.5"), ["`rl.kl_coef` = -0.5", "≥ 0"]),
    "clip eps": (_sub("clip_eps: 0.2", "clip_eps: 1.0"), ["`rl.clip_eps` = 1.0", "< 1"]),
    "group needs samples": (_sub("samples_per_prompt: 4", "samples_per_prompt: 1"), ["`rl.samples_per_prompt`", "group"]),
    "zero lr": (_sub("lr: 1.0e-3  ", "lr: 0  "), ["`rl.lr` = 0", "> 0"]),
    "warmup steps": (_sub("warmup: {steps: 200", "warmup: {steps: 0"), ["`warmup.steps`", "warmup"]),
    "no train data": (_sub("  train: {format: mlvu, path: data/needle/train, tasks: null, limit: null, video_dir: null}",
                           "  train: null"), ["`data.train`"]),
    "model path": (_sub("path: models/tiny-answer, tiny_seed: 1", "path: ./no/such/model, tiny_seed: null"),
                   ["`models.answer.path`", "./no/such/model", "tiny_seed"]),
    "bad format": (_sub("format: mlvu, path: data/needle/test", "format: mlvuu, path: data/needle/test"),
                   ["`data.eval.format` = 'mlvuu'", "did you mean `mlvu`"]),
    "yaml syntax": (_sub("  candidates: 16", "  candidates: [16"), ["yaml:", "YAML syntax error"]),
    "duplicate key": (_sub("seed: 0\n", "seed: 0\nseed: 1\n"), ["duplicate key `seed`", ":12:1"]),
    "empty file": (lambda text: "", ["empty"]),
    "comments only": (lambda text: "# nothing here\n", ["empty"]),
    "top-level list": (lambda text: "- rl\n- sft\n", ["mapping", ":1:1"]),
    "unknown reward param": (_sub("max_tokens: 48", "max_tokns: 48"),
                             ["`rewards.params.max_tokns`", "did you mean `max_tokens`"]),
    "reward file does not compile": (_sub("file: rewards/viarl.rules", "file: tests/fixtures/config/broken.rules"),
                                     ["`rewards.file`", "does not compile", "broken.rules:3:"]),
    "bad interpolation": (_sub("output_dir: runs/${name}", "output_dir: runs/${nam}"), ["`output_dir`", "nam"]),
}


@pytest.mark.parametrize("case", sorted(MUTATIONS))
def test_mutation_is_one_user_error_with_its_path(case, tmp_path):
    mutate, expected = MUTATIONS[case]
    path = tmp_path / "recipe.yaml"
    path.write_text(mutate(NEEDLE))
    with pytest.raises(UserError) as info:
        load_recipe(path)
    message = info.value.render()
    assert str(path) in message
    for part in expected:
        assert part in message, f"{part!r} not in:\n{message}"
    assert "Traceback" not in message and "pydantic" not in message


def test_every_problem_is_reported_at_once(tmp_path):
    text = NEEDLE.replace("steps: 300", "steps: -1").replace("device: cpu", "device: gpu")
    text = text.replace("select: 4 ", "select: 40 ").replace("kl_coef:", "kl_cof:")
    (tmp_path / "r.yaml").write_text(text)
    with pytest.raises(UserError) as info:
        load_recipe(tmp_path / "r.yaml")
    message = info.value.render()
    assert "4 problems" in message
    for path in ("`rl.steps`", "`run.device`", "`frames.select`", "`rl.kl_cof`"):
        assert path in message
    # One line per problem, each with the key's file:line:col.
    lines = [ln for ln in message.splitlines() if ln.startswith("  - ")]
    assert len(lines) == 4 and all(re.search(r"r\.yaml:\d+:\d+", ln) for ln in lines)


def test_missing_file():
    with pytest.raises(UserError, match="recipe file not found"):
        load_recipe("recipes/no-such-recipe.yaml")


def test_folder_is_not_a_recipe():
    with pytest.raises(UserError, match="folder"):
        load_recipe("recipes")


def test_override_of_unknown_key_names_the_override():
    with pytest.raises(UserError) as info:
        load_recipe(FROZEN, ["rl.kl_cof=0.1"])
    assert "`rl.kl_cof`" in info.value.render() and "override `rl.kl_cof=0.1`" in info.value.render()


@pytest.mark.parametrize("bad", ["rl.kl_coef", "=3", "rl..lr=1", "rl.lr=[1"])
def test_malformed_override(bad):
    with pytest.raises(UserError) as info:
        load_recipe(FROZEN, [bad])
    assert f"override `{bad}`" in info.value.render()


def test_overrides_apply_in_order_with_yaml_values():
    r = load_recipe(FROZEN,
                    ["rl.kl_coef=1e-2", "frames.select=2", "stages.cycle=[rl]", "stages.cycle.0=sft",
                     "name=other", "data.synthetic=null", "frames.select=3"])
    assert (r.rl.kl_coef, r.frames.select, r.stages.cycle, r.name) == (0.01, 3, ["sft"], "other")
    assert r.output_dir == "runs/other"  # ${name} resolves after the overrides
    assert r.data.synthetic is None


def test_base_inheritance_is_relative_to_the_file(tmp_path):
    child = tmp_path / "deep" / "child.yaml"
    child.parent.mkdir()
    child.write_text(f"base: {os.path.relpath(REPO / FROZEN, child.parent)}\n"
                     "name: child\nrl: {steps: 7}\n")
    r = load_recipe(child)
    assert (r.name, r.rl.steps, r.rl.lr, r.frames.candidates) == ("child", 7, 1e-3, 16)


def test_base_cycle_is_reported(tmp_path):
    (tmp_path / "a.yaml").write_text("base: b.yaml\n")
    (tmp_path / "b.yaml").write_text("base: a.yaml\n")
    with pytest.raises(UserError, match="cycle"):
        load_recipe(tmp_path / "a.yaml")


def test_missing_base_points_at_the_base_line(tmp_path):
    (tmp_path / "a.yaml").write_text("name: a\nbase: nope.yaml\n")
    with pytest.raises(UserError) as info:
        load_recipe(tmp_path / "a.yaml")
    assert "a.yaml:2:1" in info.value.render() and "nope.yaml" in info.value.render()


def test_yaml_12_floats_and_ints():
    r = load_recipe(FROZEN, ["rl.lr=5e-4", "sft.lr=.5", "rl.steps=1_000"])
    assert (r.rl.lr, r.sft.lr, r.rl.steps) == (5e-4, 0.5, 1000)


def test_merge_over_replaces_non_mappings_and_sets_list_items():
    assert merge_over({"a": {"b": 1, "c": 2}}, {"a": {"b": 3}}) == {"a": {"b": 3, "c": 2}}
    assert merge_over({"a": {"b": 1}}, {"a": None}) == {"a": None}
    assert merge_over({"a": [1, 2]}, {"a": {"1": 5}}) == {"a": [1, 5]}
    assert merge_over({"a": [1, 2]}, {"a": {"x": 5}}) == {"a": {"x": 5}}


GOLDEN = sorted(p.stem for p in FIXTURES.glob("bad-*.yaml"))


@pytest.mark.parametrize("name", GOLDEN)
def test_golden_message(name):
    """The full rendered message of a few bad recipes, pinned (UPDATE_GOLDEN=1 rewrites them)."""
    with pytest.raises(UserError) as info:
        load_recipe(f"tests/fixtures/config/{name}.yaml")
    golden = FIXTURES / f"{name}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(info.value.render() + "\n")
    assert info.value.render() + "\n" == golden.read_text()
