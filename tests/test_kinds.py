"""The kinds table (kb/kinds.py) is the one place kinds are defined: the JSON Schemas must agree with it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kb import kinds

SCHEMAS = Path(__file__).resolve().parent.parent / "content" / "_kb" / "schemas"


def _schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


def _enums(schema: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    return {k: tuple(p["enum"]) for k, p in schema.get("properties", {}).items() if "enum" in p}


def test_common_schema_enums_equal_the_kinds_table() -> None:
    assert _enums(_schema("common.schema.json")) == kinds.COMMON_ENUMS


@pytest.mark.parametrize("kind", kinds.KINDS, ids=lambda k: k.name)
def test_kind_schema_enums_equal_the_kinds_table(kind: kinds.Kind) -> None:
    schema = _schema(f"{kind.name}.schema.json")
    assert _enums(schema) == kind.enums
    assert schema["properties"]["kind"] == {"const": kind.name}
    assert kind.label in schema["title"]


def test_every_schema_file_is_a_kind_or_the_common_one() -> None:
    names = {p.name for p in SCHEMAS.glob("*.schema.json")}
    assert names == {"common.schema.json", *(f"{k.name}.schema.json" for k in kinds.KINDS)}


def test_cases_are_never_listed_in_the_nav_and_need_their_sections() -> None:
    case = kinds.BY_NAME["case"]
    assert not case.list_in_nav
    assert case.sections == ("现象", "原因", "解决方案")
    assert {k.folder for k in kinds.KINDS} == set(kinds.BY_FOLDER)


def test_enum_labels_cover_every_value() -> None:
    assert set(kinds.SEVERITY_LABELS) == set(kinds.SEVERITIES)
    assert set(kinds.SENDER_TYPE_LABELS) == set(kinds.SENDER_TYPES)
    assert set(kinds.STATUS_LABELS) == set(kinds.STATUSES)
    assert set(kinds.VISIBILITY_LABELS) == set(kinds.VISIBILITIES)
