"""Shared fixtures: paths to the repository, its content, and scratch copies of it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CONTENT = REPO / "content"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture()
def content_copy(tmp_path: Path) -> Path:
    """A writable copy of the sample content root."""
    dst = tmp_path / "content"
    shutil.copytree(CONTENT, dst)
    return dst
