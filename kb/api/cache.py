"""The response cache: encoded JSON bodies keyed by index version and validated parameters, so a repeated
query costs one dictionary lookup and a swapped index is never answered from the old one."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any


class ResponseCache:
    """Encoded JSON bodies by key, least recently used dropped first, bounded in entries and in bytes (a body
    with 100 hits and snippets is ~100 KB). One per process; the event loop is its only user, so no lock."""

    def __init__(self, size: int, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.size, self.max_bytes, self.bytes = size, max_bytes, 0
        self._items: OrderedDict[tuple[Any, ...], tuple[bytes, int]] = OrderedDict()

    def get(self, key: tuple[Any, ...]) -> tuple[bytes, int] | None:
        item = self._items.get(key)
        if item is not None:
            self._items.move_to_end(key)
        return item

    def put(self, key: tuple[Any, ...], value: tuple[bytes, int]) -> None:
        if self.size <= 0 or len(value[0]) > self.max_bytes or key in self._items:
            return
        self._items[key] = value
        self.bytes += len(value[0])
        while len(self._items) > self.size or self.bytes > self.max_bytes:
            _, (body, _) = self._items.popitem(last=False)
            self.bytes -= len(body)
