"""The indexes one server answers from: the build's own index (token holders) and the public index
(everyone else), each version opened once and followed when `kb build` / `kb index` swaps or updates it.

Layout (docs/design-notes.md): `<index-dir>/` is the index of the build's audience; an internal build also
writes a complete public index at `<index-dir>/public/`. Anonymous callers get `<index-dir>/public/` if it
exists, else `<index-dir>` if its audience is public, else nothing (empty answers, never internal data).

Tantivy memory-maps its files, so a writer that truncates a file under a reader kills the reader (SIGBUS).
The server therefore opens each version from a private copy, taken under the index's lock and verified
(every file's own CRC32 footer, the segments meta.json names, the document count) before it replaces the
version being served. A copy that fails keeps the last good version; with none at all the API answers 503.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import struct
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb.api.errors import ApiError
from kb.index import PUBLIC_SUBDIR

log = logging.getLogger("kb.api")

CURRENT = "CURRENT"
#: Tantivy ends every file of a segment with a JSON footer ({"version", "crc"}), its length and this number
_FOOTER_MAGIC = 1337
#: after a copy failed for a reason other than a new version (a file removed while copying), try again after
RETRY_SECONDS = 5.0
_PRIVATE_PREFIX = "kb-serve-"


class BadIndex(Exception):
    """A version that must not be served, with the reason in Chinese."""


def verify_version(vdir: Path) -> dict[str, Any]:
    """Check a copied index version before Tantivy opens it: kb's metadata, Tantivy's meta.json, every
    segment file present with a matching CRC32. Returns kb's metadata."""
    try:
        meta = json.loads((vdir / "kb-index.json").read_text(encoding="utf-8"))
        tmeta = json.loads((vdir / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise BadIndex(f"元数据无法读取：{e}") from None
    segments = {s["segment_id"].replace("-", ""): s for s in tmeta.get("segments", [])}
    for seg_id, seg in segments.items():
        if not (vdir / f"{seg_id}.store").is_file():
            raise BadIndex(f"段 {seg_id} 缺少文件")
        deletes = seg.get("deletes")
        if deletes and not (vdir / f"{seg_id}.{deletes['opstamp']}.del").is_file():
            raise BadIndex(f"段 {seg_id} 缺少删除记录")
    for f in vdir.iterdir():
        if f.name.split(".", 1)[0] in segments:
            _check_footer(f)
    return meta


def _check_footer(path: Path) -> None:
    data = path.read_bytes()
    if len(data) < 8 or struct.unpack("<I", data[-4:])[0] != _FOOTER_MAGIC:
        raise BadIndex(f"{path.name} 不完整（没有文件尾）")
    size = struct.unpack("<I", data[-8:-4])[0]
    if size > len(data) - 8:
        raise BadIndex(f"{path.name} 不完整")
    try:
        crc = json.loads(data[-8 - size:-8])["crc"]
    except (ValueError, KeyError, TypeError):
        raise BadIndex(f"{path.name} 的文件尾损坏") from None
    if zlib.crc32(memoryview(data)[:-8 - size]) != crc:
        raise BadIndex(f"{path.name} 校验和不符（文件损坏或被截断）")


@contextlib.contextmanager
def _shared_lock(index_dir: Path) -> Any:
    """The index's writer lock taken shared, so no update runs while we copy; yields False when a writer
    holds it (the copy is then made anyway and stands or falls by its verification)."""
    try:
        fh = open(index_dir / ".lock", "a")  # noqa: SIM115 - closed below
    except OSError:
        yield False
        return
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
            locked = True
        except OSError:
            locked = False
        yield locked
    finally:
        fh.close()


def _stamp(index_dir: Path) -> tuple[Any, ...] | None:
    """Changes whenever a different version becomes current or the current one is updated in place."""
    try:
        name = (index_dir / CURRENT).read_text(encoding="utf-8").strip()
        vdir = index_dir / name
        return (name, *((vdir / f).stat().st_mtime_ns for f in ("kb-index.json", "meta.json")))
    except OSError:
        return None


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
        stamp = _stamp(self.path)
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
        name = stamp[0]
        copy = self._root / f"{len(self._copies)}-{time.monotonic_ns()}"
        try:
            with _shared_lock(self.path):
                if _stamp(self.path) != stamp:
                    raise BadIndex("复制时索引又变了，稍后重试")
                shutil.copytree(self.path / name, copy / name,
                                ignore=shutil.ignore_patterns(".tantivy-*.lock", ".lock"))
            (copy / CURRENT).write_text(name, encoding="utf-8")
            meta = verify_version(copy / name)
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
