"""Readable, URL-safe ids from Chinese or mixed titles: "印尼验证码回填率低" -> "yin-ni-yan-zheng-ma-hui-tian-lv-di".

Chinese characters become toneless pinyin (one word per character), Latin letters and digits are kept
lower-cased, everything else separates words. The result matches the id pattern of common.schema.json.
"""

from __future__ import annotations

import re
import unicodedata

#: ids are capped well below the schema's 120 characters so a "case-YYYY-MM-" prefix still fits
MAX_SLUG_LENGTH = 80
_NON_WORD = re.compile(r"[^a-z0-9]+")


def _ascii_fold(text: str) -> str:
    """Drop accents (é -> e) so Latin words survive; other scripts vanish later."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def title_slug(title: str, max_length: int = MAX_SLUG_LENGTH) -> str:
    """The slug of a title, or "" when nothing in it can be written in Latin letters or digits."""
    from pypinyin import Style, lazy_pinyin  # loads dictionaries: import only when needed

    text = unicodedata.normalize("NFKC", title)  # full-width letters and digits -> half-width
    # lazy_pinyin gives one syllable per Chinese character and keeps other runs as they are;
    # ü is written "v" (率 -> lv), the usual ASCII spelling.
    chunks = lazy_pinyin(text, style=Style.NORMAL, errors="default")
    words: list[str] = []
    for chunk in chunks:
        words.extend(w for w in _NON_WORD.split(_ascii_fold(chunk).lower()) if w)
    slug = "-".join(words)
    if len(slug) > max_length:
        cut = slug[:max_length + 1]
        slug = cut[:cut.rfind("-")] if "-" in cut else slug[:max_length]  # end on a whole word
    return slug.strip("-")
