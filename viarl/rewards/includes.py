"""`include "FILE"`: one program from a rule file and the files it includes.

An include is replaced by the statements of FILE (its path relative to the including file),
recursively. The including file may redefine `total` and change a parameter's default by
declaring it again (same type); the included statement is then dropped and recorded in
`Program.redefined`. Every other clash is left to the checker, which reports a duplicate name
with both locations. A file reached twice (two includes of one base) is inlined once; a file
that includes itself, directly or not, is an error.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from viarl.rewards import ast
from viarl.rewards.errors import RuleError, error_at, where_of
from viarl.errors import UserError
from viarl.rewards.parser import parse_program
from viarl.user_files import RULES_BYTES, read_user_text

Reader = Callable[[str], str]  # path -> text (OSError or UserError when it cannot be read)
RULE_SUFFIX = ".rules"


def read_rule_text(path: str) -> str:
    """The text of a rule file on disk (a regular file, at most RULES_BYTES; UserError otherwise)."""
    if not os.path.lexists(path):
        raise FileNotFoundError(path)
    return read_user_text(path, "rule file", RULES_BYTES)


def include_allowed(path: str, top: str) -> bool:
    """May a rule file include `path`? Only rule files: a `.rules` file, or any file under the
    folder of the top rule file `top` or under a `rewards/` folder (the working directory's, or
    one that holds `top`). Judged on the real path, so a link named x.rules to another file is not
    a rule file."""
    real = os.path.realpath(path)
    if real.endswith(RULE_SUFFIX):
        return True
    top_dir = os.path.dirname(os.path.realpath(top))
    roots = [top_dir, os.path.realpath("rewards")]
    roots += [str(parent) for parent in Path(top_dir, "x").parents if parent.name == "rewards"]
    return any(real.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def _key(path: str) -> str:
    return os.path.realpath(path) if not path.startswith("<") else path


def flatten(program: ast.Program, read: Reader = read_rule_text) -> ast.Program:
    """`program` with every include replaced by the included statements (see module doc)."""
    if not any(isinstance(s, ast.Include) for s in program.stmts):
        return program
    redefined: list[tuple[str, ast.Pos]] = []
    stmts = _inline(program, read, [(_key(program.path), program.path)], set(), redefined)
    return ast.Program(tuple(stmts), source=program.source, path=program.path,
                       redefined=tuple(redefined))


def _redefinable(s: ast.Stmt) -> str | None:
    """The key under which an including file may redefine `s` (params and total), or None."""
    if isinstance(s, ast.Param):
        return s.name
    return "total" if isinstance(s, ast.Total) else None


def _inline(program: ast.Program, read: Reader, chain: list[tuple[str, str]], done: set[str],
            redefined: list[tuple[str, ast.Pos]]) -> list[ast.Stmt]:
    own = {k: s for s in program.stmts if (k := _redefinable(s)) is not None}
    out: list[ast.Stmt] = []
    for s in program.stmts:
        if not isinstance(s, ast.Include):
            out.append(s)
            continue
        child = _load(program, s, read, chain, done)
        if child is None:
            continue
        for c in _inline(child, read, chain + [(_key(child.path), child.path)], done, redefined):
            key = _redefinable(c)
            if key in own:
                _same_type(own[key], c, program)
                redefined.append((key, c.pos))
            else:
                out.append(c)
    return out


def _load(program: ast.Program, s: ast.Include, read: Reader, chain: list[tuple[str, str]],
          done: set[str]) -> ast.Program | None:
    base = os.path.dirname(program.path) if not program.path.startswith("<") else ""
    path = os.path.normpath(os.path.join(base, s.path))
    key = _key(path)
    if key in [k for k, _ in chain]:
        cycle = [shown for k, shown in chain[[k for k, _ in chain].index(key):]] + [path]
        raise _fail(program, s.pos, "include cycle: " + " → ".join(cycle),
                    "remove one of the include lines in the cycle")
    if key in done:
        return None  # already inlined through another include
    done.add(key)
    if "\0" in path:
        raise _fail(program, s.pos, "the included path contains a NUL byte (\\0)", "remove it from the path")
    if not program.path.startswith("<") and not include_allowed(path, chain[0][1]):
        # Never read it: its first line would be echoed in a syntax error.
        raise _fail(program, s.pos, f"`{s.path}` is not a rule file: include reads only `{RULE_SUFFIX}` files, "
                    "or files under the rule file's folder or a rewards/ folder",
                    f"include a {RULE_SUFFIX} file")
    try:
        text = read(path)
    except FileNotFoundError:
        raise _fail(program, s.pos, f"included file `{s.path}` not found (looked at {path})",
                    "the path is relative to the file that includes it") from None
    except UserError as e:
        raise _fail(program, s.pos, f"cannot read included file `{s.path}`: {e.message}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise _fail(program, s.pos, f"cannot read included file `{s.path}`: {e}") from None
    return parse_program(text, path)


def _same_type(outer: ast.Stmt, inner: ast.Stmt, program: ast.Program) -> None:
    if isinstance(outer, ast.Param) and isinstance(inner, ast.Param) and outer.type != inner.type:
        raise _fail(program, outer.pos, f"param `{outer.name}` is {inner.type} in "
                    f"{where_of(inner.pos)}; a redefinition cannot change its type",
                    f"declare it as `param {outer.name}: {inner.type} = …`")


def _fail(program: ast.Program, pos: ast.Pos, message: str, fix: str | None = None) -> RuleError:
    return error_at(program.path, program.source, pos, message, fix)
