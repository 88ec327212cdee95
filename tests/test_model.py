from pathlib import Path

import pytest

from kb.model import ArticleParseError, parse_article

CASE = """---
id: c1
title: 测试
updated: 2024-05-01
tags: [a, b]
---
# 测试

## 现象
见[说明](../manuals/a.md#购买号码)。

## 原因
x
"""


def parse(text: str | bytes, kind: str | None = "case"):
    data = text.encode() if isinstance(text, str) else text
    return parse_article(Path("x.md"), "cases/x.md", data, kind)


def test_front_matter_keys_keep_their_source_lines():
    a = parse(CASE)
    assert a.meta["updated"] == "2024-05-01"  # dates stay strings, as typed
    assert a.key_positions["title"].line == 3
    assert a.body_line == 7


def test_headings_and_links_carry_file_lines():
    a = parse(CASE)
    assert [(h.level, h.text, h.line) for h in a.headings] == [(1, "测试", 7), (2, "现象", 9), (2, "原因", 12)]
    assert a.links[0].target == "../manuals/a.md#购买号码"
    assert a.links[0].line == 10
    assert a.sections()["原因"] == "x"


def test_yaml_error_has_a_line():
    with pytest.raises(ArticleParseError) as e:
        parse("---\nid: c1\ntitle: [oops\n---\n")
    assert e.value.reason == "yaml" and e.value.line >= 3


def test_invalid_utf8_is_located():
    with pytest.raises(ArticleParseError) as e:
        parse(b"---\nid: c1\ntitle: \xff\xfe\n---\n")
    assert e.value.reason == "encoding" and e.value.line == 3


def test_front_matter_must_be_a_mapping():
    with pytest.raises(ArticleParseError) as e:
        parse("---\n- a\n- b\n---\n")
    assert e.value.reason == "not_mapping"


def test_heading_text_is_what_the_reader_sees():
    a = parse("---\nid: c1\n---\n# C\\# 与 a\\*b \\[草稿\\]\n\n## 常见 **问题** `DLR`\n")
    assert [h.text for h in a.headings] == ["C# 与 a*b [草稿]", "常见 问题 DLR"]
    assert a.headings[1].anchor == "常见-问题-dlr"  # the site's toc slug of the rendered text
