"""Regenerate the module table of docs/architecture.md from the modules' docstrings.

Each row is `module | first line of its docstring`; the table sits between the two marker
comments of architecture.md. Run after adding, moving or re-describing a module:

    python docs/module_table.py          # rewrite the table
    python docs/module_table.py --check  # exit 1 when the table is stale (the tests run this)
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
BEGIN, END = "<!-- module table: begin (docs/module_table.py) -->", "<!-- module table: end -->"


def first_line(path: Path) -> str:
    """The first line of a module's docstring ("" when it has none)."""
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    return doc.strip().splitlines()[0].strip() if doc.strip() else ""


def table() -> str:
    """The markdown table of every module under viarl/ (package __init__ files left out)."""
    rows = ["| module | what it is |", "|---|---|"]
    for path in sorted((ROOT / "viarl").rglob("*.py")):
        if path.name == "__init__.py":
            continue
        rel = path.relative_to(ROOT).as_posix()
        line = first_line(path).replace("|", "\\|")
        rows.append(f"| `{rel}` | {line} |")
    return "\n".join(rows)


def rendered(text: str) -> str:
    """architecture.md's text with the table between the markers replaced by a fresh one."""
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{table()}\n{END}{tail}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only check that the table is current")
    args = ap.parse_args()
    text = DOC.read_text(encoding="utf-8")
    new = rendered(text)
    if args.check:
        if new != text:
            print(f"{DOC} is stale: run python docs/module_table.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
