"""The indexes one server answers from: the build's own index (token holders) and the public index
(everyone else), each opened once per version and followed when `kb build` / `kb index` swaps it.

Layout (docs/design-notes.md): `<index-dir>/` is the index of the build's audience; an internal build also
writes a complete public index at `<index-dir>/public/`. Anonymous callers get `<index-dir>/public/` if it
exists, else `<index-dir>` if its audience is public, else nothing (empty answers, never internal data).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kb.api.errors import ApiError

log = logging.getLogger("kb.api")

PUBLIC_SUBDIR = "public"


@dataclass
class IndexSlot:
    """One index directory and the searcher over its live version (None until one opens)."""

    path: Path
    searcher: Any = None
    error: str = ""

    def refresh(self) -> None:
        """Open the index if it is not open yet, or follow a swapped/updated version. Keeps the searcher it
        has when the new version cannot be opened."""
        from kb.search import Searcher

        try:
            if self.searcher is None:
                self.searcher = Searcher(self.path)
            else:
                self.searcher.reload_if_changed()
            self.error = ""
        except Exception as e:  # noqa: BLE001 - a broken version must not take the server down
            if str(e) != self.error:
                log.warning("索引 %s 无法打开，继续使用上一个可用版本：%s", self.path, e)
            self.error = str(e)


class Indexes:
    def __init__(self, index_dir: Path) -> None:
        self.full = IndexSlot(Path(index_dir))
        self.public_dir = IndexSlot(Path(index_dir) / PUBLIC_SUBDIR)

    def refresh(self) -> None:
        self.full.refresh()
        if (self.public_dir.path / "CURRENT").exists() or self.public_dir.searcher is not None:
            self.public_dir.refresh()

    def searcher(self, internal: bool) -> Any:
        """The searcher for a caller; None means "answer empty" (an anonymous caller with no public index).
        Raises 503 when the caller's index has never opened."""
        if internal:
            if self.full.searcher is None:
                self.full.refresh()
            if self.full.searcher is None:
                raise ApiError(503, "index_unavailable", f"搜索索引不可用：{self.full.error or '尚未建立'}")
            return self.full.searcher
        if self.public_dir.searcher is None and (self.public_dir.path / "CURRENT").exists():
            self.public_dir.refresh()
        if self.public_dir.searcher is not None:
            return self.public_dir.searcher
        if self.full.searcher is None:
            self.full.refresh()
        if self.full.searcher is not None and self.full.searcher.info.audience == "public":
            return self.full.searcher
        if self.full.searcher is None and self.full.error:
            raise ApiError(503, "index_unavailable", f"搜索索引不可用：{self.full.error}")
        return None
