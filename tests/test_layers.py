"""The package's layering holds: imports go down the layers of docs/architecture.md, at module top."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "viarl"

# Layer of each top-level module or package (docs/architecture.md); a module may import only
# from its own layer or lower ones.
LAYERS = {
    "__version__": 0, "errors": 0, "console": 0, "atomic": 0, "selection": 0, "distributed": 0,
    "user_files": 0, "numbers": 0, "run_lock": 0,
    "models": 1, "synth": 1, "video": 1, "data": 1, "rewards": 1, "config": 1,
    "policy": 2, "eval": 3, "train": 4, "report": 5, "plan": 5, "harness": 5, "commands": 6, "cli": 6,
}
CLI_EDGE = ("commands", "cli")


def _top(module: str) -> str:
    return module.split(".")[1]


def viarl_imports(path: Path) -> list[tuple[str, bool, int]]:
    """(imported viarl module, at module level?, line) for every import of viarl in `path`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top_level = {id(node) for node in tree.body}
    guarded = {id(n) for node in tree.body if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
               for n in ast.walk(node)}
    out = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module == "viarl":
            names = [f"viarl.{a.name}" for a in node.names]  # from viarl import atomic
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("viarl."):
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name.startswith("viarl.")]
        out += [(n, id(node) in top_level or id(node) in guarded, node.lineno) for n in names]
    return out


def modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        yield path, rel.parts[0].removesuffix(".py")


def test_imports_go_down_the_layers():
    upward = []
    for path, layer in modules():
        if layer == "__init__":
            continue
        for module, _, line in viarl_imports(path):
            if LAYERS[_top(module)] > LAYERS[layer]:
                upward.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {module}")
    assert upward == []


def test_building_blocks_never_import_train():
    for path, layer in modules():
        if layer in ("eval", "models", "video", "data", "rewards", "config", "synth", "policy"):
            assert not [m for m, _, _ in viarl_imports(path) if _top(m) == "train"], path


def test_no_function_level_imports_of_viarl_outside_the_cli_edge():
    inside = [f"{path.relative_to(PACKAGE.parent)}:{line} {module}" for path, layer in modules()
              if layer not in CLI_EDGE for module, at_top, line in viarl_imports(path) if not at_top]
    assert inside == []
