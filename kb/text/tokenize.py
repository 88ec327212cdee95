"""Tokenizers and token filters: split normalized text into CJK runs and whole Latin/number tokens, then derive
jieba words, character bigrams and stop-word-free sequences. Each step is a small function testable alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
#: CJK run | phone/country prefix (+62) | Latin word, number or code (delivrd, v2.3, 401, sk_live_x, e.164)
_TOKEN_RE = re.compile(rf"(?P<cjk>[{CJK}]+)|(?P<prefix>\+\d{{1,4}})|(?P<latin>[a-z0-9]+(?:[._\-/][a-z0-9]+)*)")

#: Function words of questions; they carry no topic and would drown the ranking ("如何" in every FAQ).
STOP_WORDS: frozenset[str] = frozenset("""
什么 如何 怎么 怎样 怎么样 为什么 为何 吗 呢 吧 啊 呀 嘛 么 的 地 得 了 着 过 是 我 你 您 他 她 它 我们 你们 他们
可以 能 能否 可否 是否 会 要 需要 应该 哪 哪些 哪个 哪里 哪儿 多少 几 有 在 和 与 及 或 或者 还是 一个 这 那 这个 那个
这些 那些 请问 一下 如果 就 都 也 还 对 把 被 给 让 从 到 向 为 于 以 而 但 并 等 个 之 其 该 此 所 其他 吗？
""".split())


@dataclass(frozen=True)
class Token:
    text: str
    kind: str  # "cjk" | "latin" | "prefix"
    start: int
    end: int


def split_runs(text: str) -> Iterator[Token]:
    """Normalized text → CJK runs and whole Latin tokens; punctuation and spaces separate tokens."""
    for m in _TOKEN_RE.finditer(text):
        kind = m.lastgroup or "latin"
        yield Token(m.group(), kind, m.start(), m.end())


def bigrams(run: str) -> list[str]:
    """Overlapping character bigrams of a CJK run; a one-character run stays a unigram."""
    if len(run) < 2:
        return [run] if run else []
    return [run[i:i + 2] for i in range(len(run) - 1)]


def jieba_words(run: str) -> list[str]:
    """rjieba search-mode segmentation of one CJK run (long words and their dictionary sub-words)."""
    import rjieba

    return [w for w in rjieba.cut_for_search(run) if w.strip()]


def drop_stop_words(words: Iterable[str], stop: frozenset[str] = STOP_WORDS) -> list[str]:
    return [w for w in words if w not in stop]


def content_runs(run: str, stop: frozenset[str] = STOP_WORDS) -> list[str]:
    """A query's CJK run with its stop words cut out, as the sub-runs between them ("如何取得租金保险" → ["取得租金保险"])."""
    import rjieba

    out: list[str] = []
    cur = ""
    for w in rjieba.cut(run):
        if w in stop:
            if cur:
                out.append(cur)
            cur = ""
        else:
            cur += w
    if cur:
        out.append(cur)
    return out


def joined_latin(text: str) -> list[str]:
    """Adjacent Latin words separated by one space or hyphen, joined: writers spell the same term
    "Sender ID", "SenderID" and "sender-id"; indexing and querying the joined form makes them meet."""
    out: list[str] = []
    prev: Token | None = None
    for tok in split_runs(text):
        if (prev is not None and tok.kind == "latin" and prev.kind == "latin" and tok.start - prev.end == 1
                and text[prev.end] in " -" and prev.text.isalpha() and tok.text.isalpha()):
            out.append(prev.text + tok.text)
        prev = tok
    return out
