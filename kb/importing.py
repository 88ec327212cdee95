"""Turn JSON Lines records `{"id","title","text",...}` into kb articles that pass `kb check`.

Keeps ids (made slug-safe), fills required metadata with defaults, and sets up `_kb/` in a new content root.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from kb import dates
from kb.config import KB_DIR
from kb.kinds import BY_NAME

_ID_OK = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")


@dataclass
class ImportResult:
    written: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)
    out: Path = Path(".")


def safe_id(raw: str) -> str:
    s = str(raw).strip().lower()
    if _ID_OK.match(s) and len(s) <= 120:
        return s
    slug = re.sub(r"[^a-z0-9._-]+", "-", s).strip("-._")[:80]
    digest = hashlib.sha1(str(raw).encode()).hexdigest()[:8]
    return f"{slug}-{digest}" if slug else f"doc-{digest}"


def default_kb_dir() -> Path | None:
    """The `_kb/` to seed a new content root from: ./content/_kb, else the one beside the kb package."""
    for cand in (Path.cwd() / "content" / KB_DIR, Path(__file__).resolve().parent.parent / "content" / KB_DIR):
        if (cand / "schemas").is_dir():
            return cand
    return None


def ensure_root(out: Path) -> None:
    if (out / KB_DIR).is_dir():
        return
    src = default_kb_dir()
    if src is None:
        raise FileNotFoundError("找不到可复制的 _kb/ 配置（schemas、owners.yml）；请在仓库根目录运行")
    shutil.copytree(src, out / KB_DIR)


def _title(rec: dict[str, Any], text: str) -> str:
    title = str(rec.get("title") or "").strip() or text.strip().split("\n", 1)[0][:60] or "无标题"
    return re.sub(r"\s+", " ", title)[:120]


def front_matter(kind: str, rec: dict[str, Any], doc_id: str, title: str, owner: str, today: date) -> dict[str, Any]:
    fm: dict[str, Any] = {"id": doc_id, "title": title, "kind": kind, "owner": str(rec.get("owner") or owner),
                          "status": rec.get("status", "draft"), "visibility": rec.get("visibility", "internal"),
                          "updated": str(rec.get("updated") or today.isoformat())}
    if rec.get("tags"):
        fm["tags"] = list(rec["tags"])
    if kind == "manual":
        fm["product"] = str(rec.get("product") or "导入")
    elif kind == "case":
        now = dates.format_timestamp(dates.now())
        fm.update({"customer": rec.get("customer") or "某客户", "category": rec.get("category") or "客户问题",
                   "subcategory": rec.get("subcategory") or "其他", "severity": rec.get("severity") or "medium",
                   "channel": rec.get("channel") or "其他", "reported_at": str(rec.get("reported_at") or now),
                   "first_response_at": str(rec.get("first_response_at") or rec.get("reported_at") or now),
                   "resolved_at": str(rec.get("resolved_at") or rec.get("first_response_at")
                                      or rec.get("reported_at") or now)})
    return fm


def render(kind: str, fm: dict[str, Any], text: str) -> str:
    head = yaml.dump(fm, Dumper=_DUMPER, allow_unicode=True, sort_keys=False, width=10_000)
    h1 = _MD_SPECIAL.sub(r"\\\1", fm["title"])
    body = text.strip()
    if kind == "case":
        body = f"## 现象\n\n{body}\n\n## 原因\n\n待补充。\n\n## 解决方案\n\n待补充。"
    return f"---\n{head}---\n\n# {h1}\n\n{body}\n"


def iter_records(path: Path) -> Iterator[tuple[int, dict[str, Any] | None, str]]:
    with open(path, "rb") as fh:
        for n, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                rec = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as e:
                yield n, None, f"不是有效的 JSON: {e}"
                continue
            except RecursionError:
                yield n, None, "JSON 嵌套过深"
                continue
            if not isinstance(rec, dict) or not rec.get("id"):
                yield n, None, "缺少 id"
                continue
            yield n, rec, ""


def import_jsonl(path: Path, kind: str, out: Path, owner: str | None = None,
                 progress: Callable[[int], None] | None = None, today: date | None = None) -> ImportResult:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ensure_root(out)
    if owner is None:
        owners = yaml.safe_load((out / KB_DIR / "owners.yml").read_text(encoding="utf-8")) or {}
        owner = next(iter(owners), "unknown")
    folder = out / BY_NAME[kind].folder
    folder.mkdir(exist_ok=True)
    result = ImportResult(out=out)
    seen: set[str] = set()
    today = today or dates.today()
    for n, rec, reason in iter_records(path):
        if progress:
            progress(1)
        if rec is None:
            result.skipped.append((n, reason))
            continue
        doc_id = safe_id(rec["id"])
        if doc_id in seen:
            result.skipped.append((n, f"重复的 id: {doc_id}"))
            continue
        seen.add(doc_id)
        text = str(rec.get("text") or "")
        fm = front_matter(kind, rec, doc_id, _title(rec, text), owner, today)
        (folder / f"{doc_id}.md").write_text(render(kind, fm, text), encoding="utf-8")
        result.written += 1
    return result
