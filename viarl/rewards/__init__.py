"""The reward rule language: `load_rules(path)` → RuleProgram → `compile(params)` → Scorer.

See docs/rewards.md for the language. `primitives` holds the per-sample functions (index
parsing, answer matching) that the engine shares with the rules.
"""

from viarl.rewards.errors import RuleError
from viarl.rewards.program import RuleProgram, load_rules, parse_rules

__all__ = ["RuleError", "RuleProgram", "load_rules", "parse_rules"]
