"""Fixtures for the training tests: a loaded tiny selector and random-pixel frames."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch


@pytest.fixture
def overrides(tmp_path, tiny_run_args):
    """A function giving `viarl run recipes/needle.yaml` overrides for a seconds-long tiny run."""

    def make(**extra):
        return tiny_run_args(tmp_path, **extra)
    return make


@pytest.fixture(scope="module")
def shared_runs(tmp_path_factory, tiny_run_args):
    """Like `overrides`, for runs several tests of a module share: make(name, **extra) gives
    (run folder, overrides) with the run folder and frame cache under one module-wide folder."""
    tmp = tmp_path_factory.mktemp("runs")

    def make(name: str, **extra) -> tuple[Path, list[str]]:
        args = tiny_run_args(tmp, **{"output_dir": tmp / name, **extra})
        return tmp / name, args
    return make


RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "needle.yaml"


def _build_stage(args: list[str], kind: str):
    """A set-up training stage (`warmup`, `answer_warmup`, `rl` or `sft`) of needle.yaml with `args`,
    on a fresh RunContext, ready for `stage.step(i)`: the engine's path without the loop."""
    from viarl.config.load import load_recipe
    from viarl.train.context import RunContext
    from viarl.train.engine import STAGES, quiet_libraries

    quiet_libraries()
    recipe = load_recipe(RECIPE, args)
    run_dir = Path(recipe.output_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(recipe.seed)
    stage = STAGES[kind](RunContext.build(recipe, run_dir), f"c1-{kind}", 1)
    stage.setup()
    return stage


@pytest.fixture
def build_stage():
    """`build_stage(args, kind)`: a set-up stage of needle.yaml with `args` (see `_build_stage`)."""
    return _build_stage
