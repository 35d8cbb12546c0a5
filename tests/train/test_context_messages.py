"""What the run context prints about the models and data it makes shows paths as written."""

from __future__ import annotations

import io

from rich.console import Console

from viarl.train import context


def test_a_path_with_brackets_is_printed_as_written_not_read_as_markup(monkeypatch, tmp_path):
    out = io.StringIO()
    monkeypatch.setattr(context, "console", Console(file=out, width=300))
    monkeypatch.setattr(context, "write_tiny_model", lambda *a, **k: None)
    folder = tmp_path / "exp[lr=1e-3]" / "[bold]clip"

    class Clip:
        tiny_seed = 5
        model = str(folder)

    context.ensure_clip(Clip)
    assert f"creating tiny clip model at {folder} (seed 5)" in out.getvalue()
