"""Shared fixtures: paths to the repository, its content, and scratch copies of it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from apiserver import free_port  # noqa: F401 - re-exported for the tests; shared with the benchmarks

REPO = Path(__file__).resolve().parent.parent
CONTENT = REPO / "content"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session", autouse=True)
def vector_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One vector cache for the whole session (every `kb index`/`kb build`, in process or not, reads it through
    KB_VECTOR_CACHE), so the suite embeds each chunk of the sample content with the real model once."""
    import os

    path = tmp_path_factory.mktemp("vectors") / "vectors.sqlite"
    old = os.environ.get("KB_VECTOR_CACHE")
    os.environ["KB_VECTOR_CACHE"] = str(path)
    yield path
    if old is None:
        os.environ.pop("KB_VECTOR_CACHE", None)
    else:
        os.environ["KB_VECTOR_CACHE"] = old


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture()
def content_copy(tmp_path: Path) -> Path:
    """A writable copy of the sample content root."""
    dst = tmp_path / "content"
    shutil.copytree(CONTENT, dst)
    return dst


KB = str(Path(sys.executable).with_name("kb"))


@dataclass
class Built:
    content: Path
    site: Path
    index: Path


def build_site(base: Path, audience: str) -> Built:
    content = base / "content"
    shutil.copytree(CONTENT, content)
    b = Built(content, base / "site", base / "index")
    subprocess.run([KB, "build", "--content", str(content), "--audience", audience, "--site-dir", str(b.site),
                    "--index-dir", str(b.index), "--config-file", str(REPO / "mkdocs.yml")],
                   check=True, cwd=REPO, capture_output=True)
    return b


@pytest.fixture(scope="session")
def internal_site(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The sample content built once (real MkDocs + plugin + index), as the team sees it."""
    return build_site(tmp_path_factory.mktemp("internal"), "internal")


@pytest.fixture(scope="session")
def public_site(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build_site(tmp_path_factory.mktemp("public"), "public")

