"""index.html of a report: every plot and contact sheet on one page, linked relatively.

The page is static (no scripts, no external assets) so a report folder can be copied, zipped or
served anywhere and still shows everything.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from viarl.atomic import write_text

_STYLE = """
body{font-family:system-ui,sans-serif;margin:24px;max-width:1400px;color:#222}
h1{margin-bottom:4px} h2{border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:32px}
img{max-width:100%;border:1px solid #ddd;margin:6px 0}
.grid{display:flex;flex-wrap:wrap;gap:12px} .grid figure{margin:0;flex:1 1 560px}
figcaption{font-size:13px;color:#555}
table{border-collapse:collapse;font-size:14px} td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}
th:first-child,td:first-child{text-align:left} .note{color:#a33}
"""


@dataclass
class Section:
    """One heading with figures (path, caption), an optional table and notes."""

    title: str
    figures: list[tuple[Path, str]] = field(default_factory=list)
    table: tuple[list[str], list[list[Any]]] | None = None
    notes: list[str] = field(default_factory=list)
    wide: bool = False  # one figure per row (contact sheets)


def _cell(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.3f}"
    return html.escape(str(v))


def render_page(title: str, sections: Sequence[Section], base: str | Path, subtitle: str = "") -> str:
    """The HTML text; figure paths are written relative to `base` (the page's folder)."""
    out = ["<!doctype html>", "<html><head><meta charset='utf-8'>",
           f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
           f"<h1>{html.escape(title)}</h1>"]
    if subtitle:
        out.append(f"<p>{html.escape(subtitle)}</p>")
    for sec in sections:
        out.append(f"<h2>{html.escape(sec.title)}</h2>")
        for note in sec.notes:
            out.append(f"<p class='note'>{html.escape(note)}</p>")
        if sec.table:
            head, rows = sec.table
            out.append("<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>")
            for r in rows:
                out.append("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in r) + "</tr>")
            out.append("</table>")
        if sec.figures:
            out.append("<div>" if sec.wide else "<div class='grid'>")
            for path, caption in sec.figures:
                rel = Path(os.path.relpath(path, base)).as_posix()
                out.append(f"<figure><a href='{html.escape(rel)}'><img src='{html.escape(rel)}' "
                           f"alt='{html.escape(caption)}'></a><figcaption>{html.escape(caption)}</figcaption></figure>")
            out.append("</div>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def write_page(path: str | Path, title: str, sections: Sequence[Section], subtitle: str = "") -> Path:
    """Write index.html (atomically) at `path`, links relative to its folder."""
    path = Path(path)
    write_text(path, render_page(title, sections, path.parent, subtitle))
    return path
