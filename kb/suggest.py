"""Search-as-you-type suggestions: title and glossary-term prefixes, also by pinyin and pinyin initials.

Built once per index version into suggest.json; matching is a scan over a few thousand short entries.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from kb.text import Analyzer


@dataclass
class Suggestion:
    text: str
    kind: str  # "title" | "term"
    id: str | None = None
    url: str | None = None


@lru_cache(maxsize=1)
def char_pinyin() -> dict[int, str]:
    """code point -> toneless pinyin of its first reading (pypinyin's table), for fast title entries."""
    from pypinyin.pinyin_dict import pinyin_dict

    table: dict[int, str] = {}
    for cp, readings in pinyin_dict.items():
        first = readings.split(",")[0]
        for u in "üǖǘǚǜ":
            first = first.replace(u, "v")
        table[cp] = unicodedata.normalize("NFKD", first).encode("ascii", "ignore").decode().lower()
    return table


def _pinyin(text: str, phrase_aware: bool = False) -> tuple[str, str]:
    if phrase_aware:
        from pypinyin import lazy_pinyin

        parts = [p.strip().lower() for p in lazy_pinyin(text)]
    else:
        table = char_pinyin()
        parts = [table.get(ord(c), c.lower() if c.isascii() else "") for c in text]
    parts = [p for p in parts if p and p.isascii() and p.isalnum()]
    return "".join(parts), "".join(p[0] for p in parts)


def entry(text: str, kind: str, analyzer: Analyzer, id: str | None = None, url: str | None = None,
          visibility: str = "internal") -> dict[str, Any]:
    """One suggestion. `visibility` "public" only for what anonymous callers may see (fail closed)."""
    full, initials = _pinyin(text, phrase_aware=kind == "term")
    return {"text": text, "kind": kind, "id": id, "url": url, "visibility": visibility,
            "norm": analyzer.normalize(text).replace(" ", ""), "py": full, "ini": initials}


def build_suggestions(titles: list[dict[str, Any]], analyzer: Analyzer,
                      previous: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Suggestion entries for glossary terms and titles; keys of `previous` entries with the same text are
    reused (pinyin of thousands of titles is most of an incremental update otherwise)."""
    keys = {(e["text"], e["kind"]): (e["norm"], e["py"], e["ini"]) for e in previous or ()}

    def make(text: str, kind: str, **extra: Any) -> dict[str, Any]:
        k = keys.get((text, kind))
        if k is None:
            return entry(text, kind, analyzer, **extra)
        return {"text": text, "kind": kind, "id": extra.get("id"), "url": extra.get("url"),
                "visibility": extra.get("visibility", "internal"), "norm": k[0], "py": k[1], "ini": k[2]}

    # glossary terms are configuration every audience sees (the static manifest carries them too)
    out = [make(t, "term", visibility="public") for t in analyzer.terms]
    # in article-id order: a full build and an incremental pass (changed titles first) write the same file
    out += [make(t["title"], "title", id=t["id"], url=t["url"], visibility=t["visibility"])
            for t in sorted(titles, key=lambda t: (str(t["id"]), t["title"]))]
    return out


def match(entries: list[dict[str, Any]], prefix: str, analyzer: Analyzer, limit: int = 8,
          include_internal: bool = False) -> list[Suggestion]:
    p = analyzer.normalize(prefix).replace(" ", "")
    if not p:
        return []
    latin = p.isascii() and p.isalpha()
    ranked: list[tuple[int, int, int, dict[str, Any]]] = []
    for e in entries:
        if not include_internal and e.get("visibility") != "public":
            continue
        if e["norm"].startswith(p):
            rank = 0
        elif latin and e["py"].startswith(p):
            rank = 1
        elif latin and len(p) >= 2 and e["ini"].startswith(p):
            rank = 2
        elif len(p) >= 2 and p in e["norm"]:
            rank = 3
        elif latin and len(p) >= 3 and e["kind"] == "term" and _one_off(p, e["ini"][:len(p)]):
            rank = 4  # one slip in the initials: "hgl" still finds 回填率 (htl)
        else:
            continue
        ranked.append((rank, 0 if e["kind"] == "term" else 1, len(e["text"]), e))
    ranked.sort(key=lambda r: (*r[:3], r[3]["text"]))
    seen: set[str] = set()
    out: list[Suggestion] = []
    for *_, e in ranked:
        key = f"{e['kind']}:{e['text']}"
        if key in seen:
            continue
        seen.add(key)
        out.append(Suggestion(e["text"], e["kind"], e["id"], e["url"]))
        if len(out) >= limit:
            break
    return out


def _one_off(a: str, b: str) -> bool:
    return len(a) == len(b) and sum(x != y for x, y in zip(a, b, strict=False)) == 1


def pinyin_terms(entries: list[dict[str, Any]], token: str) -> list[str]:
    """Glossary terms a Latin token spells in pinyin or pinyin initials ("huitianlv", "htl" -> 回填率)."""
    if len(token) < 3 or not token.isalpha():
        return []
    return [e["text"] for e in entries if e["kind"] == "term" and (
        e["py"] == token or e["ini"] == token or (len(token) >= 6 and e["py"].startswith(token))
        or _one_off(token, e["ini"]))]
