"""The indexes one server answers from: the build's own index (token holders) and the public index
(everyone else), each version opened once and followed when `kb build` / `kb index` swaps or updates it.

Layout (docs/design-notes.md): `<index-dir>/` is the index of the build's audience; an internal build also
writes a complete public index at `<index-dir>/public/`. Anonymous callers get `<index-dir>/public/` if it
exists, else `<index-dir>` if its audience is public, else nothing (empty answers, never internal data).

Tantivy memory-maps its files, so a writer that truncates a file under a reader kills the reader (SIGBUS).
The server therefore opens each version from a private copy (kb.index.snapshot_current), taken under the
index's lock and verified (every file's own CRC32 footer, the segments meta.json names, the document count)
before it replaces the version being served. A copy that fails keeps the last good version; with none at all the API answers 503.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb.api.errors import ApiError
from kb.index import CURRENT, PUBLIC_SUBDIR, BadIndex, snapshot_current, snapshot_stamp

log = logging.getLogger("kb.api")

#: after a copy failed for a reason other than a new version (a file removed while copying), try again after
RETRY_SECONDS = 5.0
_PRIVATE_PREFIX = "kb-serve-"


def clean_private_copies() -> None:
    """Remove the private copies of servers that are gone (killed with -9, say)."""
    for p in Path(tempfile.gettempdir()).glob(f"{_PRIVATE_PREFIX}*"):
        pid = p.name[len(_PRIVATE_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(p, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class IndexSlot:
    """One index directory and the searcher over a private, verified copy of its live version."""

    path: Path
    searcher: Any = None
    error: str = ""
    _stamp: tuple[Any, ...] | None = None
    _failed: tuple[tuple[Any, ...] | None, float] = (None, 0.0)
    _copies: list[Path] = field(default_factory=list)
    _root: Path | None = None

    def exists(self) -> bool:
        return (self.path / CURRENT).is_file()

    def refresh(self) -> None:
        """Follow a swapped or updated version; keep serving the one we have when the new one is bad."""
        stamp = snapshot_stamp(self.path)
        if stamp is None or stamp == self._stamp:
            return
        failed_stamp, failed_at = self._failed
        if stamp == failed_stamp and time.monotonic() - failed_at < RETRY_SECONDS:
            return
        try:
            searcher, copy = self._open_copy(stamp)
        except Exception as e:  # noqa: BLE001 - a broken version must not take the server down
            self._failed = (stamp, time.monotonic())
            message = f"{e}"
            if message != self.error:
                kept = "，继续使用上一个可用版本" if self.searcher is not None else ""
                log.warning("索引 %s 的版本 %s 无法使用%s：%s", self.path, stamp[0], kept, message)
            self.error = message
            return
        self.searcher, self._stamp, self.error = searcher, stamp, ""
        self._copies.append(copy)
        while len(self._copies) > 2:  # the one in use and the one before (requests may still finish on it)
            shutil.rmtree(self._copies.pop(0), ignore_errors=True)

    def _open_copy(self, stamp: tuple[Any, ...]) -> tuple[Any, Path]:
        from kb.search import Searcher

        if self._root is None:
            self._root = Path(tempfile.mkdtemp(prefix=f"{_PRIVATE_PREFIX}{os.getpid()}-"))
        copy = self._root / f"{len(self._copies)}-{time.monotonic_ns()}"
        meta = snapshot_current(self.path, copy, stamp)
        try:
            searcher = Searcher(copy)
            count = searcher.doc_count(include_internal=True)
            if count != int(meta.get("doc_count", count)):
                raise BadIndex(f"文档数 {count} 与元数据 {meta.get('doc_count')} 不符")
        except BaseException:
            shutil.rmtree(copy, ignore_errors=True)
            raise
        return searcher, copy

    def close(self) -> None:
        self.searcher = None
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)


class Indexes:
    def __init__(self, index_dir: Path) -> None:
        self.full = IndexSlot(Path(index_dir))
        self.public = IndexSlot(Path(index_dir) / PUBLIC_SUBDIR)

    def refresh(self) -> None:
        self.full.refresh()
        if self.public.exists() or self.public.searcher is not None:
            self.public.refresh()

    def close(self) -> None:
        self.full.close()
        self.public.close()

    def searcher(self, internal: bool) -> Any:
        """The searcher for a caller; None means "answer empty" (an anonymous caller and no public index).
        Raises 503 when the caller's index has no good version."""
        if internal:
            if self.full.searcher is None:
                raise ApiError(503, "index_unavailable", f"搜索索引不可用：{self.full.error or '尚未建立'}")
            return self.full.searcher
        if self.public.searcher is not None:
            return self.public.searcher
        if self.public.exists():
            raise ApiError(503, "index_unavailable", f"公开索引不可用：{self.public.error or '正在打开'}")
        full = self.full.searcher
        if full is None:
            raise ApiError(503, "index_unavailable", f"搜索索引不可用：{self.full.error or '尚未建立'}")
        return full if full.info.audience == "public" else None
