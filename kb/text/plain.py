"""Markdown → plain text for indexing and snippets: keeps words, drops markup (links keep their text).

Regex-based on purpose: it runs on every article at index time and must be fast; exact rendering is MkDocs' job.
"""

from __future__ import annotations

import re

_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^```.*$|^~~~.*$", re.M), ""),
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),
    (re.compile(r"<[^>\n]+>"), ""),
    (re.compile(r"^\s{0,3}#{1,6}\s*", re.M), ""),
    (re.compile(r"^\s*(?:[-*+]|\d+\.)\s+", re.M), ""),
    (re.compile(r"^\s*>\s?", re.M), ""),
    (re.compile(r"^\s*!!!.*$|^\s*\?\?\?.*$", re.M), ""),
    (re.compile(r"^\s*\|?\s*:?-{3,}.*$", re.M), ""),
    (re.compile(r"\|"), " "),
    (re.compile(r"[*`]{1,3}"), ""),
    (re.compile(r"[ \t]+"), " "),
    (re.compile(r"\n{3,}"), "\n\n"),
]


def plain_text(markdown: str) -> str:
    text = markdown
    for rx, repl in _RULES:
        text = rx.sub(repl, text)
    return text.strip()
