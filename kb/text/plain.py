"""Markdown → plain text for indexing and snippets: keeps words, drops markup (links keep their text).

Regex-based on purpose: it runs on every article at index time and must be fast; exact rendering is MkDocs' job.
"""

from __future__ import annotations

import re

#: each rule with the strings it cannot match without (any one of them): a rule whose strings are all absent
#: leaves the text as it is and is skipped (snippets run this per section of every hit)
_RULES: list[tuple[re.Pattern[str], str, tuple[str, ...]]] = [
    (re.compile(r"^```.*$|^~~~.*$", re.M), "", ("```", "~~~")),
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1", ("](",)),
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1", ("](",)),
    (re.compile(r"<[^>\n]+>"), "", ("<",)),
    (re.compile(r"^\s{0,3}#{1,6}\s*", re.M), "", ("#",)),
    (re.compile(r"^\s*(?:[-*+]|\d+\.)\s+", re.M), "", ("-", "*", "+", ".")),
    (re.compile(r"^\s*>\s?", re.M), "", (">",)),
    (re.compile(r"^\s*!!!.*$|^\s*\?\?\?.*$", re.M), "", ("!!!", "???")),
    (re.compile(r"^\s*\|?\s*:?-{3,}.*$", re.M), "", ("---",)),
    (re.compile(r"\|"), " ", ("|",)),
    (re.compile(r"[*`]{1,3}"), "", ("*", "`")),
    (re.compile(r"[ \t]+"), " ", ("  ", "\t")),  # a lone space becomes itself
    (re.compile(r"\n{3,}"), "\n\n", ("\n\n\n",)),
]


def plain_text(markdown: str) -> str:
    text = markdown
    for rx, repl, needles in _RULES:
        for needle in needles:
            if needle in text:
                text = rx.sub(repl, text)
                break
    return text.strip()


_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)
_FENCE_LINE = re.compile(r"^ {0,3}(```|~~~)", re.M)
#: a list item that is only a link ("- [印尼 Sender ID](../senderid/id.md)"): navigation, not prose
_LINK_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+\[[^\]\n]*\]\([^)\n]*\)\s*$", re.M)


def sections(markdown: str) -> list[tuple[str, str]]:
    """The body as (heading, plain text) per section, for snippets that name their section ("原因：…").
    The H1 (the title, shown anyway) is dropped; text before the first subheading has the heading ''.
    Headings inside fenced code are not headings; list items that are only a link (相关文章) are no text."""
    fenced = [m.start() for m in _FENCE_LINE.finditer(markdown)]
    spans = list(zip(fenced[::2], fenced[1::2] + [len(markdown)] * (len(fenced) % 2), strict=False))

    def in_code(pos: int) -> bool:
        return any(a <= pos < b for a, b in spans)

    heads = [m for m in _HEADING.finditer(markdown) if not in_code(m.start())]
    out: list[tuple[str, str]] = []
    starts = [(m.end(), plain_text(m.group(2)) if len(m.group(1)) > 1 else None) for m in heads]
    first = heads[0].start() if heads else len(markdown)
    chunks = [("", markdown[:first])] + [(label, markdown[end:(heads[i + 1].start() if i + 1 < len(heads) else len(markdown))])
                                        for i, (end, label) in enumerate(starts)]
    for label, chunk in chunks:
        text = " ".join(plain_text(_LINK_ITEM.sub("", chunk) if "](" in chunk else chunk).split())
        if label is None:  # under the H1: the lead paragraph
            label = ""
        if text:
            out.append((label, text))
    return out
