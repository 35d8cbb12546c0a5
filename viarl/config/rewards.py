"""`rewards:` — the rule file that scores the selector and overrides of its parameters."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator

from viarl.config.issues import Issue, raise_issues


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


def _rule_file_issues(file: str, params: dict[str, Any]) -> list[Issue]:
    path = Path(file)
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        return [Issue("file", f"reward rule file `{file}` {what}",
                      "point rewards.file at a .rules file, e.g. rewards/viarl.rules")]
    try:
        from viarl.rewards import RuleError, load_rules
    except ImportError:  # the rule language is not installed in this checkout: existence is all we can check
        return []
    try:
        program = load_rules(path)
    except RuleError as e:
        return [Issue("file", f"the rule file does not compile:\n{e.render()}",
                      f"check it with `viarl rewards check {file}`")]
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

    file: str = Field(
        "rewards/viarl.rules",
        description="Reward rule file (relative to the working directory); see docs/rewards.md.",
    )
    params: dict[str, ParamValue] = Field(
        default_factory=dict,
        description="Values for parameters the rule file declares (e.g. the length-bonus bounds).",
    )

    @model_validator(mode="after")
    def check_rule_file(self) -> "Rewards":
        raise_issues(_rule_file_issues(self.file, self.params))
        return self
