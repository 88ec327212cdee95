"""Character normalization, the first step of every analysis: NFKC, case folding, traditional → simplified.

Pure functions over strings; the OpenCC converter is created once per process, on first use.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _t2s() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


def nfkc(text: str) -> str:
    """Full-width letters, digits and punctuation become half-width (Ｄ１ → D1，，→ ,)."""
    return unicodedata.normalize("NFKC", text)


def fold_case(text: str) -> str:
    """Lower-case, keeping the string length so offsets stay valid for highlighting."""
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(lc if len(lc := c.lower()) == 1 else c for c in text)


def to_simplified(text: str) -> str:
    """Traditional Chinese → Simplified (帳號 → 账号) with OpenCC t2s; other characters unchanged."""
    return _t2s().convert(text)


def normalize(text: str) -> str:
    """The whole normalization used on both the index and the query side."""
    return to_simplified(fold_case(nfkc(text)))
