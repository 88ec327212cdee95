"""Atomic file-system updates shared by the index, the static index and the site build."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def write_atomic(path: Path, data: str) -> None:
    """Write text to a temporary sibling, then rename it over `path`: readers see old or new, never half."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(data, encoding="utf-8")
    os.replace(tmp, path)


def swap_dir(new: Path, dst: Path) -> None:
    """Replace directory `dst` by `new` with two renames; the old tree is removed afterwards."""
    old = dst.with_name(f".{dst.name}.old-{os.getpid()}")
    if dst.exists():
        os.replace(dst, old)
    os.replace(new, dst)
    shutil.rmtree(old, ignore_errors=True)
