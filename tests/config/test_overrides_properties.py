"""Properties of overrides: valid values round-trip; unknown keys anywhere are rejected by path."""

import json
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from viarl.config import Recipe, load_recipe, resolved_yaml
from viarl.errors import UserError

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# dotted key -> strategy of values valid for the frozen needle recipe (candidates 16, warmup steps > 0)
FROZEN = "tests/fixtures/config/needle_frozen.yaml"
VALID = {
    "seed": st.integers(0, 2**63 - 1),
    "name": st.text("abcdefghijklmnopqrstuvwxyz-_0123456789", min_size=1, max_size=12),
    "frames.select": st.integers(1, 16),
    "frames.index_text": st.sampled_from(["before", "after", "none"]),
    "rl.kl_coef": st.floats(0, 10, allow_nan=False),
    "rl.lr": st.floats(1e-9, 1.0, allow_nan=False),
    "rl.steps": st.integers(1, 10**6),
    "rl.temperature": st.floats(1e-3, 5, allow_nan=False),
    "rl.schedule": st.sampled_from(["cosine", "linear", "constant"]),
    "stages.cycle": st.lists(st.sampled_from(["warmup", "answer_warmup", "rl", "sft", "eval"]), min_size=1, max_size=5),
    "evaluation.clip_diversity": st.floats(0, 1, allow_nan=False),
    "evaluation.limit": st.none() | st.integers(1, 1000),
    "run.device": st.sampled_from(["auto", "cpu", "cuda"]),
    "logging.progress": st.booleans(),
}


def _get(recipe: Recipe, dotted: str):
    value = recipe
    for key in dotted.split("."):
        value = getattr(value, key)
    return value


@pytest.mark.slow
@SETTINGS
@given(st.dictionaries(st.sampled_from(sorted(VALID)), st.none(), min_size=1).flatmap(
    lambda keys: st.fixed_dictionaries({k: VALID[k] for k in keys})))
@example({"name": "0e0"})  # text the recipe loader reads as a number unless the dump quotes it
def test_valid_overrides_round_trip(overrides):
    # JSON is YAML, so json.dumps writes every value the way a user may type it.
    dotlist = [f"{key}={json.dumps(value)}" for key, value in overrides.items()]
    recipe = load_recipe(FROZEN, dotlist)
    for key, value in overrides.items():
        assert _get(recipe, key) == value
    with tempfile.TemporaryDirectory() as tmp:
        resolved = Path(tmp) / "resolved.yaml"
        resolved.write_text(resolved_yaml(recipe))
        assert load_recipe(resolved) == recipe


SECTIONS = ["", "models.", "models.selector.", "models.clip.", "frames.", "data.", "data.train.",
            "data.synthetic.", "rewards.", "rl.", "sft.", "answer_warmup.", "warmup.", "stages.", "evaluation.", "logging.", "run."]


def _allowed(prefix: str) -> set[str]:
    model = Recipe
    for key in prefix.strip(".").split(".") if prefix else []:
        annotation = model.model_fields[key].annotation
        model = next((a for a in getattr(annotation, "__args__", (annotation,)) if isinstance(a, type)), annotation)
    return set(model.model_fields)


unknown_key = st.tuples(st.sampled_from(SECTIONS), st.from_regex(r"[a-z][a-z_]{0,11}", fullmatch=True)).filter(
    lambda pk: pk[1] not in _allowed(pk[0]))


@pytest.mark.slow
@SETTINGS
@given(unknown_key, st.integers(0, 9))
def test_unknown_override_key_is_rejected_with_its_path(prefix_key, value):
    prefix, key = prefix_key
    with pytest.raises(UserError) as info:
        load_recipe(FROZEN, [f"{prefix}{key}={value}"])
    assert f"`{prefix}{key}`" in info.value.render() and "unknown key" in info.value.render()


@pytest.mark.slow
@SETTINGS
@given(unknown_key)
def test_unknown_key_in_the_file_is_rejected_with_its_line(prefix_key):
    prefix, key = prefix_key
    text = Path(FROZEN).read_text()
    assume(f"{key}:" not in text)  # so the line search below finds the injected key only
    data = yaml.safe_load(text)
    node = data
    for part in prefix.strip(".").split(".") if prefix else []:
        node = node.setdefault(part, {})  # a section the frozen recipe leaves to its defaults
    node[key] = 1
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if text.strip().startswith(f"{key}:"))
        with pytest.raises(UserError) as info:
            load_recipe(path)
    message = info.value.render()
    assert f"`{prefix}{key}`" in message and f"r.yaml:{line}:" in message
