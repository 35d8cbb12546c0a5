"""`RuleProgram`: a loaded, checked rule file, and the one entry point `load_rules`."""

from __future__ import annotations

import difflib
import math
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from viarl.rewards import ast
from viarl.rewards.checker import Checked, check
from viarl.rewards.compiler import Scorer
from viarl.rewards.errors import RuleError
from viarl.rewards.parser import parse_program
from viarl.errors import UserError
from viarl.user_files import RULES_BYTES, read_user_text

ParamValue = float | int | bool | str


class RuleProgram:
    """A type-checked rule program. `compile(params)` binds parameters and returns a Scorer."""

    def __init__(self, checked: Checked):
        self.checked = checked
        self.path = checked.program.path

    @property
    def params(self) -> dict[str, ParamValue]:
        """Declared parameters and their defaults, in file order."""
        return {name: p.default for name, p in self.checked.params.items()}

    @property
    def param_types(self) -> dict[str, str]:
        """Declared type (num, int, bool, str) of every parameter."""
        return {name: p.type for name, p in self.checked.params.items()}

    @property
    def components(self) -> list[str]:
        """Component names in file order (the scorer adds "total")."""
        return list(self.checked.components)

    @property
    def inputs(self) -> set[str]:
        """Per-sample inputs the rules read."""
        return set(self.checked.inputs_used)

    @property
    def input_types(self) -> dict[str, str]:
        """Type of every input the rules read."""
        return {n: self.checked.inputs[n] for n in sorted(self.checked.inputs_used)}

    @property
    def needs(self) -> set[str]:
        """Inputs declared with `needs` (computed on demand), e.g. {"prediction"}."""
        return set(self.checked.needs)

    @property
    def ast(self) -> ast.Program:
        return self.checked.program

    def bind(self, params: Mapping[str, Any] | None = None) -> dict[str, ParamValue]:
        """Defaults overridden by `params`; unknown names and wrong types raise RuleError."""
        bound = self.params
        for name, value in (params or {}).items():
            if name not in bound:
                raise RuleError(f"unknown reward parameter `{name}`", where=f"params.{name}",
                                fix=self._param_list())
            bound[name] = check_param_value(name, self.param_types[name], value)
        return bound

    def check_ablate(self, names: Sequence[str], where: str = "ablate") -> tuple[str, ...]:
        """`names` without repeats if each is a component of these rules, else RuleError."""
        for name in names:
            if name not in self.checked.components:
                close = difflib.get_close_matches(name, self.components, n=1)
                hint = f"did you mean `{close[0]}`? " if close else ""
                raise RuleError(f"`{self.path}` has no component `{name}` to ablate", where=where,
                                fix=f"{hint}its components are: {', '.join(self.components)}")
        return tuple(dict.fromkeys(names))

    def compile(self, params: Mapping[str, Any] | None = None, ablate: Sequence[str] = ()):
        """The vectorised scorer with `params` bound (see viarl.rewards.compiler.Scorer).

        Each component named in `ablate` reads as 0 everywhere (so it adds nothing to the
        total); the scorer still reports the value it would have had as `ablated/NAME`.
        """
        return Scorer(self.checked, self.bind(params), self.check_ablate(ablate))

    def parse_override(self, text: str) -> tuple[str, ParamValue]:
        """Parse a `name=value` override (CLI `--set`) using the parameter's declared type."""
        name, sep, raw = text.partition("=")
        name = name.strip()
        if not sep or not name:
            raise RuleError(f"bad override `{text}`", where="--set", fix="write NAME=VALUE")
        if name not in self.checked.params:
            raise RuleError(f"unknown reward parameter `{name}`", where="--set",
                            fix=self._param_list())
        kind = self.param_types[name]
        raw = raw.strip()
        try:
            if kind == "int":
                value: ParamValue = int(raw)
            elif kind == "num":
                value = float(raw)
                if not math.isfinite(value):
                    raise RuleError(f"parameter `{name}` is {value}", where="--set",
                                    fix="a reward is never inf or nan: give a finite number (below 1e308)")
            elif kind == "bool":
                if raw.lower() not in ("true", "false"):
                    raise ValueError(raw)
                value = raw.lower() == "true"
            else:
                value = raw
        except ValueError:
            raise RuleError(f"parameter `{name}` is {kind}, got `{raw}`", where="--set",
                            fix=f"give {_a(kind)} value, e.g. {name}={self.params[name]}") from None
        return name, value

    def _param_list(self) -> str:
        if not self.checked.params:
            return "these rules declare no parameters"
        return "parameters: " + ", ".join(
            f"{n} ({t}, default {self.params[n]})" for n, t in self.param_types.items())


def _a(kind: str) -> str:
    return f"an {kind}" if kind == "int" else f"a {kind}"


def check_param_value(name: str, kind: str, value: Any) -> ParamValue:
    """`value` if it fits parameter type `kind` (int also fits num), else RuleError."""
    ok = {
        "int": isinstance(value, int) and not isinstance(value, bool),
        "num": isinstance(value, (int, float)) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
        "str": isinstance(value, str),
    }[kind]
    if not ok:
        raise RuleError(f"parameter `{name}` is {kind}, got {value!r}", where=f"params.{name}",
                        fix=f"give {_a(kind)} value")
    if isinstance(value, float) and not math.isfinite(value):
        raise RuleError(f"parameter `{name}` is {value}", where=f"params.{name}",
                        fix="a reward is never inf or nan: give a finite number (below 1e308)")
    return value


def parse_rules(source: str, path: str = "<rules>") -> RuleProgram:
    """Parse and check rule text (no file needed; includes are relative to `path`'s folder,
    the working directory for the default "<rules>")."""
    return RuleProgram(check(parse_program(source, path)))


def load_rules(path: str | os.PathLike) -> RuleProgram:
    """Read, parse and type-check a rule file; RuleError on any problem."""
    p = Path(path)
    try:
        source = read_user_text(p, "rule file", RULES_BYTES,
                                fix="check the path (the default rules are rewards/viarl.rules)")
    except UserError as e:
        raise RuleError(e.message, where=e.where, fix=e.fix) from None
    return parse_rules(source, str(path))
