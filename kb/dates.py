"""Dates in one place: parsing what writers and exports type, the team's timezone, "today" and "stale".

The team works in Asia/Shanghai (UTC+8; the default lives in `kb.config.Settings.timezone`): a naive
time is the team's clock, a case belongs to the month it was reported in that zone, and "today" is the
team's date, not the machine's.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from kb.config import Settings

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATETIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?$")
#: years an imported timestamp may have; anything else is a unit or format mix-up
YEARS = range(2000, 2100)


@lru_cache(maxsize=8)
def team_tz(name: str | None = None) -> dt.tzinfo:
    """The team's timezone (`Settings.timezone` unless another IANA name is given). Raises
    zoneinfo.ZoneInfoNotFoundError for an unknown name."""
    return ZoneInfo(name or Settings.timezone)


def now(tz: dt.tzinfo | None = None) -> dt.datetime:
    """The current time on the team's clock, to the second."""
    return dt.datetime.now(tz or team_tz()).replace(microsecond=0)


def today(tz: dt.tzinfo | None = None) -> dt.date:
    """Today's date in the team's timezone (at 01:00 in Shanghai a UTC machine still says yesterday)."""
    return now(tz).date()


def _offset(tz: str) -> dt.tzinfo:
    if tz == "Z":
        return dt.UTC
    digits = tz[1:].replace(":", "")
    off = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
    return dt.timezone(off if tz[0] == "+" else -off)


def parse_date(value: Any) -> dt.date | None:
    """A front-matter date as writers type it (YYYY-MM-DD), or None when it is not one."""
    if isinstance(value, dt.datetime):
        return None
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or not DATE_RE.match(value):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def parse_datetime(value: Any, tz: dt.tzinfo | None = None) -> dt.datetime | None:
    """'2024-03-15 09:20', '2024-03-15T09:20:00+08:00', '...Z' -> aware datetime; a naive time is the
    team's clock. None when it is not a timestamp."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz or team_tz())
    if not isinstance(value, str):
        return None
    m = DATETIME_RE.match(value.strip())
    if not m:
        return None
    y, mo, d, h, mi, s, off = m.groups()
    try:
        tzinfo = _offset(off) if off else (tz or team_tz())
        return dt.datetime(int(y), int(mo), int(d), int(h), int(mi), int(s or 0), tzinfo=tzinfo)
    except ValueError:
        return None


_EPOCH = re.compile(r"(\d{9,10})(?:\.\d+)?|(\d{13})")
_YMD = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
                  r"(?:(?:\s+|T|\s*)(\d{1,2})\s*[:时]\s*(\d{1,2})(?:\s*[:分]\s*(\d{1,2})(?:\.\d+)?\s*秒?|\s*分)?)?"
                  r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?")
_DMY = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?")


def parse_timestamp(value: str, tz: dt.tzinfo | None = None) -> dt.datetime:
    """The mixed formats of ticket exports (epoch seconds/milliseconds, 2026/11/03 9:05, 2026年11月3日 9时5分,
    03/11/2026 09:05, ISO with or without offset) -> aware datetime in the team's timezone; a naive time is
    the team's clock. Raises ValueError with a Chinese message."""
    zone = tz or team_tz()
    s = unicodedata.normalize("NFKC", value).strip()
    if m := _EPOCH.fullmatch(s):
        secs = float(s) if m.group(1) else int(s) / 1000
        out = dt.datetime.fromtimestamp(secs, dt.UTC)
    elif m := _YMD.fullmatch(s):
        y, mo, d, h, mi, sec, off = m.groups()
        out = dt.datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(sec or 0),
                          tzinfo=_offset(off) if off else zone)
    elif m := _DMY.fullmatch(s):
        d, mo, y, h, mi, sec = m.groups()
        out = dt.datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(sec or 0), tzinfo=zone)
    else:
        raise ValueError(f"无法识别的时间格式 {value!r}")
    if out.astimezone(zone).year not in YEARS:
        raise ValueError(f"时间 {value!r} 不在 {YEARS.start}–{YEARS.stop - 1} 年之间")
    return out.astimezone(zone)


def format_timestamp(t: dt.datetime, tz: dt.tzinfo | None = None) -> str:
    """A timestamp as kb writes it: ISO 8601 in the team's timezone, to the second (…T09:05:00+08:00)."""
    return t.astimezone(tz or team_tz()).isoformat(timespec="seconds")


def local_date(t: dt.datetime, tz: dt.tzinfo | None = None) -> dt.date:
    """The team's calendar date of a timestamp."""
    return t.astimezone(tz or team_tz()).date()


def month_of(t: dt.datetime, tz: dt.tzinfo | None = None) -> str:
    """'YYYY-MM' of a timestamp on the team's calendar (a case belongs to the month it was reported)."""
    return t.astimezone(tz or team_tz()).strftime("%Y-%m")


def sqlite_offset(tz: dt.tzinfo | None = None) -> str:
    """The team's current UTC offset as an SQLite date modifier ('+480 minutes'), to group epoch times by
    the team's calendar day in SQL."""
    off = now(tz).utcoffset() or dt.timedelta(0)
    return f"{int(off.total_seconds() // 60):+d} minutes"


# -- freshness ----------------------------------------------------------------------------------

def _meta_kind(article_or_meta: Any) -> tuple[Mapping[str, Any], str | None]:
    if isinstance(article_or_meta, Mapping):
        kind = article_or_meta.get("kind")
        return article_or_meta, str(kind) if kind else None
    return article_or_meta.meta, article_or_meta.kind


def review_overdue(article_or_meta: Any, on: dt.date) -> dt.date | None:
    """The `review_by` date when it has passed on day `on` (archived articles never are), else None."""
    meta, _ = _meta_kind(article_or_meta)
    if meta.get("status") == "archived":
        return None
    review = parse_date(meta.get("review_by"))
    return review if review and review < on else None


def verification_overdue(article_or_meta: Any, on: dt.date, verify_days: int | None = None) -> dt.date | None:
    """A Sender ID guide's `last_verified` when it is more than `verify_days` (default
    `Settings.senderid_verify_days`) before `on`; None for other kinds, archived articles and fresh ones."""
    meta, kind = _meta_kind(article_or_meta)
    if kind != "senderid" or meta.get("status") == "archived":
        return None
    days = Settings.senderid_verify_days if verify_days is None else int(verify_days)
    verified = parse_date(meta.get("last_verified"))
    return verified if verified and (on - verified).days > days else None


def is_stale(article_or_meta: Any, on: dt.date | None = None, verify_days: int | None = None) -> bool:
    """Stale: its review date has passed, or (Sender ID guides) it was verified too long ago.
    Archived articles are never stale. `on` defaults to the team's today."""
    day = on or today()
    return bool(review_overdue(article_or_meta, day) or verification_overdue(article_or_meta, day, verify_days))
