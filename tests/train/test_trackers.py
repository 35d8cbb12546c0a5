"""Experiment trackers (issue 13, piece 2): every metrics.jsonl number reaches TensorBoard under
its own name and step, evaluation tables arrive as `eval/<selector>/<metric>`, and a bad
`logging.report_to` is refused with the field's path and the fix."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from viarl.cli import main
from viarl.config import preflight
from viarl.config.load import load_recipe
from viarl.errors import UserError

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "needle.yaml"


def _scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    events = EventAccumulator(str(folder), size_guidance={"scalars": 0})  # 0: keep every point
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


@pytest.mark.slow
def test_tensorboard_gets_every_metric_and_the_evaluation_table(overrides, tmp_path):
    args = overrides(**{"logging.report_to": "[tensorboard]", "stages.cycles": 1,
                        "evaluation.selectors": "[trained,uniform]"})
    assert main(["run", str(RECIPE), *args]) == 0
    run = tmp_path / "run"
    scalars = _scalars(run / "trackers" / load_recipe(RECIPE).name)
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    rl = [r for r in rows if r["stage"] == "rl"]
    for name in ("reward/format", "reward/valid", "reward/correct", "reward/length", "reward/total", "kl"):
        assert [s for s, _ in scalars[name]] == [r["global_step"] for r in rl], name
    # Every number of every metrics line, under its own name, at its global step (float32 in the file).
    for row in rows:
        for key, value in row.items():
            if key in ("stage", "stage_id", "global_step") or value is None:
                continue
            (got,) = [v for s, v in scalars[key] if s == row["global_step"]]
            assert math.isclose(got, value, rel_tol=1e-6, abs_tol=1e-6), (key, row["global_step"])
    # The evaluation table: one point per cycle and selector, at the global step it ran.
    evals = [json.loads(line) for line in (run / "eval.jsonl").read_text().splitlines()]
    assert [v for _, v in scalars["eval/cycle"]] == [0, 1]
    eval_steps = [s for s, _ in scalars["eval/cycle"]]
    assert eval_steps == sorted(set(eval_steps)) and eval_steps[-1] == rows[-1]["global_step"]
    for selector in ("trained", "uniform"):
        mine = [e for e in evals if e["selector"] == selector]
        for key in ("accuracy", "hit_rate", "distinct_picks"):
            assert [(s, pytest.approx(v)) for s, v in scalars[f"eval/{selector}/{key}"]] == [
                (s, e[key]) for s, e in zip(eval_steps, mine)]
        assert [v for _, v in scalars[f"eval/{selector}/accuracy_ci95_low"]] == pytest.approx(
            [e["accuracy_ci95"][0] for e in mine])


def test_report_to_accepts_a_name_or_a_list():
    assert load_recipe(RECIPE, ["logging.report_to=tensorboard"]).logging.report_to == ["tensorboard"]
    assert load_recipe(RECIPE).logging.report_to == []


@pytest.mark.parametrize("value,expected", [
    ("[tensorbord]", ["`logging.report_to.0`", "did you mean `tensorboard`", "tensorboard, wandb, mlflow"]),
    ("[tensorboard,tensorboard]", ["`logging.report_to`", "tracker listed twice: tensorboard"]),
])
def test_a_bad_tracker_names_the_field_and_the_fix(value, expected):
    with pytest.raises(UserError) as e:
        load_recipe(RECIPE, [f"logging.report_to={value}"])
    message = e.value.render()
    assert all(part in message for part in expected), message


def test_a_tracker_whose_package_is_missing_says_what_to_install(monkeypatch, capsys):
    real = importlib.util.find_spec
    # As on a machine without wandb (whether or not this one has it).
    monkeypatch.setattr(preflight.importlib.util, "find_spec",
                        lambda name, *a: None if name == "wandb" else real(name, *a))
    assert main(["validate", str(RECIPE), "logging.report_to=[tensorboard,wandb]"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "`logging.report_to`" in err and "tracker `wandb` needs the `wandb` package" in err
    assert "`pip install wandb`" in err and "Traceback" not in err
