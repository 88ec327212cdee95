"""Tags with one spelling: the glossary's synonyms map a tag to its canonical form (the term).

Used by the generated pages, the index's tag facet and the KB4xx check, so they agree on what a tag
is. Forms are compared after NFKC, case folding and removing spaces ("IP白名单" = "IP 白名单").
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from kb.config import GlossaryTerm


def _key(tag: str) -> str:
    return "".join(unicodedata.normalize("NFKC", tag).casefold().split())


class TagCanon:
    """Maps any glossary form of a tag to the glossary term; other tags keep their spelling."""

    def __init__(self, glossary: Iterable[GlossaryTerm]) -> None:
        self._by_key: dict[str, str] = {}
        for g in glossary:
            for form in (g.term, *g.synonyms, g.en):
                if form:
                    self._by_key.setdefault(_key(form), g.term)

    def canonical(self, tag: object) -> str:
        t = str(tag).strip()
        return self._by_key.get(_key(t), t)

    def tags(self, tags: Iterable[object] | None) -> list[str]:
        """An article's tags in canonical form, each once, in the writer's order."""
        return list(dict.fromkeys(self.canonical(t) for t in tags or []))
