"""kb/dates.py: parsing, the team's timezone, today, and what "stale" means."""

from __future__ import annotations

import datetime as dt

import pytest

from kb import dates
from kb.config import Settings

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def test_the_team_timezone_defaults_to_shanghai_from_settings() -> None:
    assert Settings.timezone == "Asia/Shanghai"
    assert dt.datetime(2026, 6, 1, tzinfo=dates.team_tz()).utcoffset() == dt.timedelta(hours=8)


def test_today_is_the_team_date_not_the_machine_date() -> None:
    assert dates.today() == dt.datetime.now(SHANGHAI).date()
    assert dates.today(dt.UTC) == dt.datetime.now(dt.UTC).date()


@pytest.mark.parametrize(("raw", "iso"), [
    ("2026-11-20 09:30", "2026-11-20T09:30:00+08:00"),
    ("2026-11-20T09:30:00+07:00", "2026-11-20T09:30:00+07:00"),
    ("2026-11-20T01:30:00Z", "2026-11-20T01:30:00+00:00"),
])
def test_parse_datetime_takes_naive_times_as_the_team_clock(raw: str, iso: str) -> None:
    t = dates.parse_datetime(raw)
    assert t is not None and t.isoformat() == iso


@pytest.mark.parametrize("raw", ["2026-13-01 09:00", "yesterday", "", None, 20261120, "2026-11-20"])
def test_parse_datetime_rejects_what_is_not_a_timestamp(raw: object) -> None:
    assert dates.parse_datetime(raw) is None


@pytest.mark.parametrize(("raw", "want"), [("2026-02-28", dt.date(2026, 2, 28)), ("2026-02-30", None),
                                           ("2026/02/28", None), ("", None), (None, None)])
def test_parse_date(raw: object, want: dt.date | None) -> None:
    assert dates.parse_date(raw) == want


def test_format_timestamp_writes_the_team_offset() -> None:
    t = dt.datetime(2026, 11, 20, 1, 30, tzinfo=dt.UTC)
    assert dates.format_timestamp(t) == "2026-11-20T09:30:00+08:00"


def test_month_of_uses_the_team_calendar() -> None:
    t = dt.datetime(2026, 10, 31, 17, 0, tzinfo=dt.UTC)  # 01:00 on 1 November in Shanghai
    assert dates.month_of(t) == "2026-11"
    assert dates.local_date(t) == dt.date(2026, 11, 1)


def test_sqlite_offset_is_the_team_offset_in_minutes() -> None:
    assert dates.sqlite_offset() == "+480 minutes"


DAY = dt.date(2026, 12, 1)


@pytest.mark.parametrize(("meta", "stale"), [
    ({"review_by": "2026-11-30"}, True),
    ({"review_by": "2026-12-01"}, False),
    ({"review_by": "2026-11-30", "status": "archived"}, False),
    ({"kind": "senderid", "last_verified": "2026-01-01"}, True),
    ({"kind": "senderid", "last_verified": "2026-11-01"}, False),
    ({"kind": "senderid", "last_verified": "2026-01-01", "status": "archived"}, False),
    ({"kind": "manual", "last_verified": "2026-01-01"}, False),
    ({}, False),
])
def test_stale_means_review_passed_or_senderid_unverified_and_never_archived(meta: dict[str, str],
                                                                          stale: bool) -> None:
    assert dates.is_stale(meta, DAY) is stale


def test_verify_days_come_from_settings_unless_given() -> None:
    meta = {"kind": "senderid", "last_verified": "2026-08-01"}  # 122 days before DAY
    assert not dates.is_stale(meta, DAY)
    assert dates.is_stale(meta, DAY, verify_days=90)
