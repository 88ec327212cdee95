"""Query analytics: what is stored (no client address unless asked), retention, and the report."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from types import SimpleNamespace

from kb.analytics import QueryLog, query_report


def rows(path: Path) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT query, filters, total, zero, client FROM queries ORDER BY ts").fetchall()


def test_no_client_address_unless_configured(tmp_path: Path) -> None:
    request = SimpleNamespace(client=SimpleNamespace(host="127.0.0.1"))
    log = QueryLog(tmp_path / "q.sqlite")
    log.record("印尼 回填率", {"kind": ["case"]}, 3, 1.2, request)
    log.close()
    assert rows(tmp_path / "q.sqlite") == [("印尼 回填率", '{"kind": ["case"]}', 3, 0, None)]
    log = QueryLog(tmp_path / "q2.sqlite", store_client=True)
    log.record("DELIVRD", {}, 0, 0.5, request)
    log.close()
    assert rows(tmp_path / "q2.sqlite")[0][3:] == (1, "127.0.0.1")


def test_retention_deletes_old_rows_on_open(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    log = QueryLog(path)
    log.record("新的", {}, 1, 1.0)
    log.close()
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO queries VALUES (?, '旧的', '{}', 1, 1.0, 0, NULL)", (time.time() - 40 * 86400,))
    QueryLog(path, retention_days=30).close()
    assert [r[0] for r in rows(path)] == ["新的"]


def test_report_counts_top_and_zero_result_queries(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    log = QueryLog(path)
    for q, total in [("回填率", 5), ("回填率", 5), ("量子", 0), ("回填率", 4), ("量子", 0), ("余额", 2)]:
        log.record(q, {}, total, 1.0)
    log.close()
    r = query_report(path)
    assert r["total"] == 6 and r["zero_results"] == 2
    assert r["top"][0]["query"] == "回填率" and r["top"][0]["count"] == 3
    assert r["zero"] == [{"query": "量子", "count": 2}]
    assert sum(d["count"] for d in r["by_day"]) == 6
