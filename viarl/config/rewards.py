"""`rewards:` — the rule file that scores the selector and overrides of its parameters."""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator

from viarl.config.issues import Issue, raise_issues
from viarl.rewards import load_rules, RuleError
from viarl.user_files import not_regular


def _scalar(value: Any) -> Any:
    # One check instead of a union type: a union would report one error per member type.
    if isinstance(value, (bool, int, float, str)):
        return value
    raise ValueError(f"a rule parameter is a number, true/false or text, not {type(value).__name__}")


ParamValue = Annotated[
    Any,
    BeforeValidator(_scalar),
    WithJsonSchema({"type": ["boolean", "integer", "number", "string"]}),
]


def _load(file: str):
    """The checked rule file, or the issue that stops it from loading."""
    path = Path(file)
    try:
        kind = not_regular(os.stat(path).st_mode)
        what = f"is {kind}, not a file" if kind else None
    except (OSError, ValueError) as e:  # ValueError: a NUL byte in the path
        what = "does not exist" if isinstance(e, FileNotFoundError) else f"cannot be read ({e})"
    if what:
        return Issue("file", f"reward rule file `{file}` {what}",
                     "point rewards.file at a .rules file, e.g. rewards/viarl.rules")
    try:
        return load_rules(path)
    except RuleError as e:
        return Issue("file", f"the rule file does not compile:\n{e.render()}",
                     f"check it with `viarl rewards check {file}`")


def _rule_file_issues(file: str, params: dict[str, Any]) -> list[Issue]:
    program = _load(file)
    if isinstance(program, Issue):
        return [program]
    known = dict(program.params)
    issues = []
    for key in params:
        if key not in known:
            close = difflib.get_close_matches(key, list(known), n=1)
            hint = f"did you mean `{close[0]}`? " if close else ""
            listed = ", ".join(known) or "(none)"
            issues.append(Issue(f"params.{key}", f"`{file}` declares no parameter `{key}`",
                                f"{hint}its parameters are: {listed}"))
    if issues:
        return issues
    for key, value in params.items():
        # One parameter at a time, so a wrong type is reported under its own key.
        try:
            program.compile({key: value})
        except RuleError as e:
            issues.append(Issue(f"params.{key}", e.message, e.fix))
    return issues


class Rewards(BaseModel):
    """Which rule file scores a completion, and its parameter values."""

    model_config = ConfigDict(extra="forbid")

    file: str | None = Field(
        "rewards/viarl.rules",
        description="Reward rule file (relative to the working directory); see docs/rewards.md. "
        "Null only in recipes that never train with RL (e.g. evaluation).",
    )
    params: dict[str, ParamValue] = Field(
        default_factory=dict,
        description="Values for parameters the rule file declares (e.g. the length-bonus bounds). "
        "Changing `file` (in a recipe that names a base, or with an override) drops the values "
        "set for the previous file; `rewards.params={}` clears them.",
    )
    ablate: list[str] = Field(
        default_factory=list,
        description="Components scored as 0 (an ablation study): they add nothing to the total, "
        "their would-be values are logged as ablated/NAME in metrics.jsonl, and summary.json "
        "records the ablation. E.g. [format] for the paper's reward without its format term.",
    )

    @model_validator(mode="after")
    def check_rule_file(self) -> "Rewards":
        if self.file is None:
            raise_issues([Issue(f"params.{key}", "rewards.file is null, so there is no parameter to set",
                                "set rewards.file, or remove rewards.params") for key in self.params])
            return self
        raise_issues(_rule_file_issues(self.file, self.params))
        return self

    @model_validator(mode="after")
    def check_ablate(self) -> "Rewards":
        if not self.ablate:
            return self
        if self.file is None:
            raise_issues([Issue("ablate", "rewards.file is null, so there is no component to ablate",
                                "set rewards.file, or ablate: []")])
        program = _load(self.file)  # it loads: check_rule_file ran first
        issues = []
        for i, name in enumerate(self.ablate):
            try:
                program.check_ablate([name])
            except RuleError as e:
                issues.append(Issue(f"ablate.{i}", e.message, e.fix))
        raise_issues(issues)
        return self
