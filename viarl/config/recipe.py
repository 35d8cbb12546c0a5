"""`Recipe`: everything a run needs, in one validated tree (see docs/recipes.md)."""

from __future__ import annotations

import importlib.util
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from viarl.config.data import Data
from viarl.config.evaluation import Evaluation
from viarl.config.frames import Frames
from viarl.config.issues import Issue, raise_issues
from viarl.config.logging import Logging
from viarl.config.models import Models
from viarl.config.preflight import FORMAT_FIELDS, missing_inputs, output_folder_problem
from viarl.config.rewards import _load, Rewards
from viarl.config.rl import RL
from viarl.config.run import Run
from viarl.config.sft import SFT
from viarl.config.stages import Stages
from viarl.config.types import TRAINING_STAGES
from viarl.config.values import value_issues
from viarl.config.warmup import Warmup
from viarl.selection import pool_problem
from viarl.rewards.builtins import BUILTIN_INPUTS


class Recipe(BaseModel):
    """A viarl recipe. Paths are relative to the working directory, except `base`."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        "run", min_length=1, description="Name of the run (used in the default output_dir)."
    )
    base: str | None = Field(
        None,
        description="Recipe to inherit from, relative to THIS file; this recipe is merged over it. "
        "Null in a resolved recipe.",
    )
    seed: int = Field(0, description="Seed of every random stream of the run.")
    output_dir: str = Field(
        "runs/run", description="Run folder: checkpoints, metrics, reports. Default: runs/<name>."
    )
    models: Models = Field(
        default_factory=dict, validate_default=True, description="The selector, answer and CLIP models."
    )
    frames: Frames = Field(
        default_factory=dict, validate_default=True, description="Candidate and selected frames."
    )
    data: Data = Field(
        default_factory=dict, validate_default=True, description="Training and evaluation data."
    )
    rewards: Rewards = Field(
        default_factory=dict, validate_default=True, description="The reward rule file and its parameters."
    )
    rl: RL = Field(
        default_factory=dict, validate_default=True, description="REINFORCE++ training of the selector."
    )
    sft: SFT = Field(
        default_factory=dict, validate_default=True, description="Supervised tuning of the answer model."
    )
    warmup: Warmup = Field(
        default_factory=dict, validate_default=True, description="Format warm-up of the selector."
    )
    answer_warmup: SFT = Field(
        default_factory=lambda: {"picks": "all"}, validate_default=True,
        description="Answer-model warm-up (stage `answer_warmup`): SFT on every candidate frame, for "
        "answer models that start from random weights. Same fields as `sft`; `picks` defaults to `all`.")
    stages: Stages = Field(
        default_factory=dict, validate_default=True, description="Which stages run, in which order."
    )
    evaluation: Evaluation = Field(
        default_factory=dict, validate_default=True, description="Selector comparison on data.eval."
    )
    logging: Logging = Field(
        default_factory=dict, validate_default=True, description="Metrics and console reporting."
    )
    run: Run = Field(
        default_factory=dict, validate_default=True, description="Device, precision, threads, checkpoints."
    )

    @model_validator(mode="before")
    @classmethod
    def check_output_dir_default(cls, data: Any) -> Any:
        # The default run folder follows the name, so two recipes never share runs/run by accident.
        name = data.get("name", "run") if isinstance(data, dict) else None
        if isinstance(name, str) and data.get("output_dir") is None:
            data = {**data, "output_dir": f"runs/{name}"}
        return data

    @model_validator(mode="before")
    @classmethod
    def check_values(cls, data: Any) -> Any:
        # inf/nan in any float, seeds out of range, NUL bytes in any text: refused in every field.
        raise_issues(value_issues(data))
        return data

    @model_validator(mode="after")
    def check_output_dir(self) -> "Recipe":
        if not self.output_dir.strip():
            raise_issues([Issue("output_dir", "is empty: the run would be written into the working directory",
                                "name a folder, e.g. output_dir=runs/<name> (or drop it: runs/<name> is the default)")])
        problem = output_folder_problem(self.output_dir)
        if problem:
            raise_issues([Issue("output_dir", f"the run folder cannot be made: {problem}",
                                "choose another output_dir (a folder), e.g. output_dir=runs/<new name>")])
        return self

    @model_validator(mode="after")
    def check_attention(self) -> "Recipe":
        # flash-attn runs on CUDA only, from its own package: blame the field, not the model folder.
        cuda_only = self.run.device == "cpu" or importlib.util.find_spec("flash_attn") is None
        raise_issues([Issue(f"models.{role}.attn_implementation",
                            "flash_attention_2 needs a CUDA GPU and the flash-attn package"
                            + (" (run.device is cpu)" if self.run.device == "cpu" else " (flash-attn is not installed)"),
                            "use attn_implementation: sdpa (or eager), or install flash-attn on a CUDA machine")
                      for role in ("selector", "answer")
                      if getattr(self.models, role).attn_implementation == "flash_attention_2" and cuda_only])
        return self

    @model_validator(mode="after")
    def check_rule_inputs(self) -> "Recipe":
        # RL scores the training data: each `input` the rules declare must be a field it carries.
        if "rl" not in self.stages.kinds() or self.data.train is None or self.rewards.file is None:
            return self
        program = _load(self.rewards.file)
        if isinstance(program, Issue):
            return self  # reported under rewards.file
        fmt = self.data.train.format
        missing = missing_inputs(program.inputs - set(BUILTIN_INPUTS), fmt)
        raise_issues([Issue("rewards.file", f"`{self.rewards.file}` reads input `{name}`, which "
                            f"{fmt} data (data.train.format) does not provide",
                            f"use a rule file without `input {name}`, or data whose samples carry `{name}` "
                            f"(jsonl/paper `meta`); {fmt} provides: {', '.join(sorted(FORMAT_FIELDS[fmt] or ()))}")
                      for name in missing])
        return self

    def _prefilter_issues(self) -> list[Issue]:
        extra, T = self.evaluation.prefilter, self.frames.candidates
        problem = pool_problem(extra.frames, T) if extra else None
        return [Issue("evaluation.prefilter.frames", problem, f"use more pool frames, e.g. {4 * T}")] if problem else []

    @model_validator(mode="after")
    def check_cross_sections(self) -> "Recipe":
        issues: list[Issue] = []
        kinds = self.stages.kinds()
        if "answer_warmup" in kinds and self.answer_warmup.picks != "all" and "warmup" not in kinds:
            issues.append(Issue("answer_warmup.picks", f"answer_warmup.picks is {self.answer_warmup.picks!r}, "
                                "which asks a selector that was never trained",
                                "keep answer_warmup.picks: all, or list `warmup` in the stages"))
        if "warmup" in kinds and self.warmup.steps == 0:
            issues.append(Issue("warmup.steps", "a `warmup` stage is listed but warmup.steps is 0",
                                "set warmup.steps > 0, or remove `warmup` from stages"))
        if "rl" in kinds and self.rewards.file is None:
            issues.append(Issue("rewards.file", "stage `rl` scores completions with a rule file, but rewards.file is null",
                                "set rewards.file (e.g. rewards/viarl.rules), or remove `rl` from the stages"))
        training = sorted(kinds & TRAINING_STAGES)
        if training and self.data.train is None:
            issues.append(Issue("data.train", f"stages {training} train, but data.train is null",
                                "set data.train (format, path), or remove the training stages"))
        evaluates = "eval" in kinds or (self.evaluation.after_each_cycle and self.stages.cycles > 0)
        if evaluates and self.data.eval is None:
            issues.append(Issue("data.eval", "the run evaluates, but data.eval is null",
                                "set data.eval, or remove `eval` stages and set evaluation.after_each_cycle: false"))
        missing = "data.train" if self.data.train is None else "data.eval" if self.data.eval is None else None
        if self.data.synthetic is not None and missing and missing not in {i.path for i in issues}:
            issues.append(Issue(missing, "data.synthetic generates data at data.train.path and data.eval.path",
                                f"set {missing}, or set data.synthetic: null"))
        issues += self._prefilter_issues()
        raise_issues(issues)
        return self
