"""Chinese text analysis for kb: one pipeline for indexing and querying (normalize | split | words / bigrams).

`Analyzer` is built once per process from the glossary (user words for rjieba, synonym groups) and can be
saved next to an index so a searcher analyzes queries exactly as the build did.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kb.text.normalize import normalize
from kb.text.tokenize import (
    STOP_WORDS,
    bigrams,
    content_runs,
    drop_stop_words,
    jieba_words,
    joined_latin,
    split_runs,
)

if TYPE_CHECKING:
    from kb.config import ContentRoot

ANALYZER_VERSION = "2"  # 2: adjacent Latin words also indexed joined ("sender id" -> senderid)

__all__ = ["ANALYZER_VERSION", "Analyzer", "QueryTerms", "normalize"]


@dataclass
class QueryTerms:
    """What a query becomes: words and bigrams for the two fields, synonym expansions, Latin terms for fuzziness."""

    text: str
    words: list[str] = field(default_factory=list)
    bigrams: list[str] = field(default_factory=list)
    synonyms: list[list[str]] = field(default_factory=list)  # each: the words of one alternative form
    latin: list[str] = field(default_factory=list)
    phrases: list[list[str]] = field(default_factory=list)
    expanded: list[str] = field(default_factory=list)  # words added by the searcher (pinyin → term)

    @property
    def empty(self) -> bool:
        return not (self.words or self.bigrams or self.synonyms)

    def highlight_terms(self) -> tuple[list[str], list[str]]:
        """(whole words to highlight, bigrams to use only where no word matched)."""
        syn = ["".join(s) if all(not w.isascii() for w in s) else " ".join(s) for s in self.synonyms]
        words = [t for t in [*self.expanded, *self.words, *syn] if len(t) > 1 or not t.isascii()]
        return sorted(dict.fromkeys(words), key=len, reverse=True), [b for b in self.bigrams if b not in words]


class Analyzer:
    """The analysis pipeline; glossary terms become jieba user words and synonym groups."""

    def __init__(self, user_words: Iterable[str] = (), synonym_groups: Iterable[Sequence[str]] = (),
                 terms: Iterable[str] = ()) -> None:
        self.terms = list(dict.fromkeys(t for t in terms if t))  # glossary head terms, for suggestions
        self.tag_canon: Any = None  # kb.tags.TagCanon when built from a content root
        self.user_words = sorted({normalize(w) for w in user_words if w})
        self.synonym_groups = [sorted({normalize(f) for f in g if f}) for g in synonym_groups]
        self.synonym_groups = [g for g in self.synonym_groups if len(g) > 1]
        # per group, each form without spaces (to find it in a query) and as tokens (to search for it)
        self._synonyms = [[(f.replace(" ", ""), [t.text for t in split_runs(f)]) for f in g]
                          for g in self.synonym_groups]
        self._register_user_words()

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def from_root(cls, root: ContentRoot | None) -> Analyzer:
        if root is None:
            return cls()
        from kb.tags import TagCanon

        groups = [t.all_forms for t in root.glossary]
        words = [f for g in groups for f in g]
        analyzer = cls(words, groups, [t.term for t in root.glossary])
        analyzer.tag_canon = TagCanon(root.glossary)  # the index's tag facet holds canonical tags
        return analyzer

    def to_config(self) -> dict[str, Any]:
        return {"version": ANALYZER_VERSION, "user_words": self.user_words, "synonym_groups": self.synonym_groups,
                "terms": self.terms}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Analyzer:
        return cls(config.get("user_words", ()), config.get("synonym_groups", ()), config.get("terms", ()))

    def _register_user_words(self) -> None:
        import rjieba

        for w in self.user_words:
            if " " not in w and any("\u3400" <= c <= "\u9fff" for c in w) and not rjieba.has_word(w):
                rjieba.add_word(w, None, None)

    # -- steps ----------------------------------------------------------------------------------
    def normalize(self, text: str) -> str:
        return normalize(text)

    def analyze(self, text: str) -> tuple[list[str], list[str], list[str]]:
        """(words, bigrams, CJK characters) of a text in one pass: normalize and split once; what the indexer
        uses."""
        words: list[str] = []
        grams: list[str] = []
        chars: list[str] = []
        norm = normalize(text)
        for tok in split_runs(norm):
            if tok.kind == "cjk":
                words.extend(jieba_words(tok.text))
                grams.extend(bigrams(tok.text))
                chars.extend(tok.text)
            else:
                words.append(tok.text)
                grams.append(tok.text)
        return drop_stop_words(words) + joined_latin(norm), grams, chars

    def words(self, text: str) -> list[str]:
        """Index-side word tokens: jieba search-mode words of CJK runs + whole Latin tokens, stop words removed."""
        out: list[str] = []
        norm = normalize(text)
        for tok in split_runs(norm):
            if tok.kind == "cjk":
                out.extend(jieba_words(tok.text))
            else:
                out.append(tok.text)
        return drop_stop_words(out) + joined_latin(norm)

    def bigrams(self, text: str) -> list[str]:
        """CJK character bigrams (unigrams for one-character runs); Latin tokens kept whole."""
        out: list[str] = []
        for tok in split_runs(normalize(text)):
            out.extend(bigrams(tok.text) if tok.kind == "cjk" else [tok.text])
        return out

    def query_terms(self, text: str) -> QueryTerms:
        norm = normalize(text)
        q = QueryTerms(text=text)
        for tok in split_runs(norm):
            if tok.kind != "cjk":
                q.words.append(tok.text)
                q.bigrams.append(tok.text)
                if tok.kind == "latin" and tok.text.isalpha():
                    q.latin.append(tok.text)
                continue
            for run in content_runs(tok.text):
                ws = drop_stop_words(jieba_words(run))
                q.words.extend(ws)
                q.bigrams.extend(bigrams(run))
        q.words.extend(joined_latin(norm))
        pieces = norm.split()
        if len(pieces) > 1:  # an explicit multi-word query: reward documents where the parts stay close
            parts = [p for p in (drop_stop_words(_cut(p)) for p in pieces) if p]
            q.phrases.extend([a[-1], b[0]] for a, b in zip(parts, parts[1:], strict=False) if a[-1] != b[0])
        compact = norm.replace(" ", "")
        for group in self._synonyms:
            if any(c in compact for c, _ in group):
                for c, toks in group:
                    if c not in compact and toks and toks not in q.synonyms \
                            and not (len(toks) == 1 and toks[0] in q.words):
                        q.synonyms.append(list(toks))
        q.words = list(dict.fromkeys(q.words))
        return q


def _cut(run: str) -> list[str]:
    import rjieba

    return list(rjieba.cut(run))


STOP = STOP_WORDS
