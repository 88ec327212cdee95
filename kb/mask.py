"""Masking of imported text: a thin user of the one detector in kb.privacy (the same rules as KB3xx).

`Masker` replaces every finding with its masked form and counts what it masked, by kind.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from kb.privacy import ALREADY_MASKED, LEGAL_SUFFIX, SECRET_MASK, half_width, mask, mask_customer_name

__all__ = ["MASK_KINDS", "SECRET_MASK", "Masker", "half_width", "mask_customer_name"]

#: kinds counted by `Masker.counts` (kb.privacy's finding kinds; "customer" for known customer names)
MASK_KINDS = ("phone", "email", "secret", "customer", "company", "person", "id_card", "bank_card", "wechat")


class Masker:
    """Masks text and counts what it masked, by kind (see MASK_KINDS)."""

    def __init__(self, strict: bool = False, exclude_names: Iterable[str] = ()) -> None:
        self.counts: Counter[str] = Counter()
        # strict: also replace secret values that are already partly starred ("ab**cd99")
        self.strict = strict
        self.exclude_names = tuple(exclude_names)  # the team's own people may stay named

    def customer(self, name: str) -> str:
        masked = mask_customer_name(name)
        if masked != name.strip():
            self.counts["customer"] += 1
        return masked

    def text(self, text: str, names: Iterable[str] = ()) -> str:
        """Mask `text`; `names` are known customer names (replaced wherever they occur)."""
        if not text:
            return text
        text = half_width(text)
        for name in names:
            text = self._known_name(text, name)
        masked, findings = mask(text, self.exclude_names, strict=self.strict)
        self.counts.update(f.kind for f in findings)
        return masked

    def _known_name(self, text: str, name: str) -> str:
        name = half_width(name.strip())
        if len(name) < 2 or ALREADY_MASKED.search(name):
            return text
        masked = mask_customer_name(name)
        forms = [name]
        short = LEGAL_SUFFIX.sub("", name)
        if short != name and len(short) >= 4:
            forms.append(short)
        for form in forms:
            n = text.count(form)
            if n:
                self.counts["customer"] += n
                text = text.replace("客户" + form, masked).replace(form, masked)
        return text
