"""Reading annotation files: JSON, JSON Lines and parquet, with errors that point at the spot.

A file that cannot be parsed at all is a UserError naming file:line:col; a bad *entry* inside a
well-formed file is the loader's business (it is skipped and counted).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator

from viarl.errors import UserError
from viarl.user_files import ANNOTATION_BYTES, is_regular_file, read_user_text


def require_file(path: str | os.PathLike, what: str) -> Path:
    """`path` as a Path if it is a regular file, else UserError (missing, a folder, a FIFO, a device)."""
    p = Path(path)
    if not is_regular_file(p):
        raise UserError(
            f"{what} not found" if not os.path.lexists(p) else f"{what} is not a regular file",
            where=repr(str(p)) if "\0" in str(p) else str(p), fix=f"pass the path of an existing {what}"
        )
    return p


def _text(path: Path, what: str = "annotation file") -> str:
    return read_user_text(path, what, ANNOTATION_BYTES, encoding="utf-8-sig")


def read_json(path: str | os.PathLike, what: str = "annotation file") -> Any:
    """Parse a JSON file; UserError at file:line:col if it is not valid JSON."""
    p = require_file(path, what)
    try:
        return json.loads(_text(p))
    except json.JSONDecodeError as e:
        raise UserError(
            f"invalid JSON: {e.msg}",
            where=f"{p}:{e.lineno}:{e.colno}",
            fix="repair the JSON at that position (a missing comma or quote is typical)",
        ) from None


def read_json_list(path: str | os.PathLike, what: str, fix: str) -> list:
    """A JSON file whose top level must be a list; UserError naming the file and `fix` otherwise."""
    data = read_json(path)
    if not isinstance(data, list):
        raise UserError(f"expected a JSON list of {what}, got {type(data).__name__}", where=str(path), fix=fix)
    return data


def read_jsonl(path: str | os.PathLike, what: str = "annotation file") -> Iterator[tuple[int, Any]]:
    """(line number, parsed object) for every non-blank line; UserError at file:line:col."""
    p = require_file(path, what)
    for lineno, line in enumerate(_text(p).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield lineno, json.loads(line)
        except json.JSONDecodeError as e:
            raise UserError(
                f"not valid JSON: {e.msg}",
                where=f"{p}:{lineno}:{e.colno}",
                fix="each line must be one complete JSON object",
            ) from None


def read_json_objects(path: str | os.PathLike, what: str = "JSONL file") -> list[tuple[int, dict]]:
    """(line number, object) for every non-blank line; a line that is not an object is a UserError."""
    rows = []
    for lineno, obj in read_jsonl(path, what):
        if not isinstance(obj, dict):
            raise UserError("each line must be a JSON object", where=f"{path}:{lineno}:1",
                            fix='write one object per line, e.g. {"key": "value"}')
        rows.append((lineno, obj))
    return rows


def read_parquet_rows(path: str | os.PathLike) -> list[dict[str, Any]]:
    """All rows of a parquet file as dicts (needs pyarrow: `pip install viarl[parquet]`)."""
    p = require_file(path, "parquet file")
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise UserError(
            "reading parquet needs pyarrow",
            where=str(p),
            fix="pip install 'viarl[parquet]', or use VideoMME's JSON export",
        ) from None
    try:
        return pq.read_table(p).to_pylist()
    except Exception as e:  # pyarrow raises several unrelated types for a damaged file
        raise UserError(
            f"cannot read parquet: {str(e).splitlines()[0][:200]}",
            where=str(p),
            fix="download the file again or use the JSON export",
        ) from None
