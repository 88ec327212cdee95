"""Query analytics in an embedded SQLite database: what people search and what finds nothing.

Stores time, query, filters, total hits, took_ms and a zero-result flag; no client address unless
`store_client=True`. Rows older than `retention_days` are deleted when the log is opened.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from kb.dates import sqlite_offset

SCHEMA = """
CREATE TABLE IF NOT EXISTS queries (
    ts REAL NOT NULL, query TEXT NOT NULL, filters TEXT NOT NULL, total INTEGER NOT NULL,
    took_ms REAL NOT NULL, zero INTEGER NOT NULL, client TEXT
);
CREATE INDEX IF NOT EXISTS queries_ts ON queries(ts);
"""


class QueryLog:
    def __init__(self, path: Path, retention_days: int = 180, store_client: bool = False) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.store_client = store_client
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._db.execute("DELETE FROM queries WHERE ts < ?", (time.time() - retention_days * 86400,))

    def record(self, query: str, filters: dict[str, Any], total: int, took_ms: float, request: Any = None) -> None:
        client = None
        if self.store_client and request is not None and request.client:
            client = request.client.host
        try:
            with self._lock:
                self._db.execute("INSERT INTO queries VALUES (?, ?, ?, ?, ?, ?, ?)",
                                 (time.time(), query.strip(), json.dumps(filters, ensure_ascii=False, sort_keys=True),
                                  total, took_ms, int(total == 0), client))
        except sqlite3.Error:
            pass  # analytics never break a search

    def close(self) -> None:
        with self._lock:
            self._db.close()


def query_report(path: Path, since: float | None = None, top: int = 20) -> dict[str, Any]:
    """Top queries, zero-result queries and queries per day since `since` (epoch seconds)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        since = since or 0.0
        total, zero = db.execute("SELECT COUNT(*), COALESCE(SUM(zero), 0) FROM queries WHERE ts >= ?",
                                 (since,)).fetchone()
        top_rows = db.execute(
            "SELECT query, COUNT(*) n, AVG(total), AVG(took_ms) FROM queries WHERE ts >= ? AND query != '' "
            "GROUP BY query ORDER BY n DESC, query LIMIT ?", (since, top)).fetchall()
        zero_rows = db.execute(
            "SELECT query, COUNT(*) n FROM queries WHERE ts >= ? AND zero = 1 AND query != '' "
            "GROUP BY query ORDER BY n DESC, query LIMIT ?", (since, top)).fetchall()
        days = db.execute(
            "SELECT date(ts, 'unixepoch', ?) d, COUNT(*), SUM(zero) FROM queries WHERE ts >= ? "
            "GROUP BY d ORDER BY d", (sqlite_offset(), since)).fetchall()
    finally:
        db.close()
    return {
        "total": total, "zero_results": zero, "zero_rate": round(zero / total, 4) if total else 0.0,
        "top": [{"query": q, "count": n, "avg_hits": round(h or 0, 1), "avg_ms": round(ms or 0, 2)}
                for q, n, h, ms in top_rows],
        "zero": [{"query": q, "count": n} for q, n in zero_rows],
        "by_day": [{"day": d, "count": n, "zero": z} for d, n, z in days],
    }
