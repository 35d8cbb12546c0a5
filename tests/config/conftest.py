"""Recipe paths are relative to the working directory, so every config test runs from the repo root."""

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def repo_cwd(monkeypatch):
    monkeypatch.chdir(REPO_ROOT)
    return REPO_ROOT
