"""The static search runtime (search-core.js) run under node over the index a real build wrote."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, Built

NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node 未安装：静态搜索运行时的测试需要 Node.js")


def run(index_dir: Path, items: list[dict[str, Any]]) -> list[Any]:
    out = subprocess.run([NODE, str(REPO / "tests/js/run_queries.mjs"), str(index_dir)], input=json.dumps(items),
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


#: realistic queries as the team types them (unspaced, mixed, codes) -> the article that must be first
FIRST = [
    ("回填率低", None),
    ("印度尼西亚senderid注册", "id-indonesia"),
    ("印尼验证码回填率", "case-2025-01-indonesia-dlr-fill-rate-low"),
    ("DLT模板不匹配", "case-2026-04-india-dlt-template-mismatch"),
    ("子账号登不上", None),
    ("api签名401", "case-2025-04-api-signature-401"),
    ("沙特阿拉伯语LOA", {"sa-saudi-arabia", "case-2025-08-saudi-senderid-arabic-loa"}),
    ("充值没到账", {"balance-and-recharge", "case-2025-12-recharge-not-credited"}),
]


def test_unspaced_chinese_queries_find_the_expected_article_first(internal_site: Built) -> None:
    res = run(internal_site.site / "search-index", [{"q": q} for q, _ in FIRST])
    for (q, want), r in zip(FIRST, res, strict=True):
        assert r["total"] > 0, q
        if want:
            assert r["ids"][0] in ({want} if isinstance(want, str) else want), (q, r["ids"][:3])


def test_static_top_hit_agrees_with_the_server_engine(internal_site: Built) -> None:
    from kb.search import Searcher

    s = Searcher(internal_site.index)
    queries = ["印尼 回填率", "SenderID 申请被拒", "DELIVRD", "子账号 IP 白名单", "余额 重复扣费", "短链接 被拦截",
               "越南 模板", "盗刷 验证码", "通道切换 延迟", "日志 90 天"]
    res = run(internal_site.site / "search-index", [{"q": q} for q in queries])
    # same signals, minus the server's phrase/proximity boost: the static first hit is in the server's top 3
    for q, r in zip(queries, res, strict=True):
        assert r["ids"][0] in [h.id for h in s.search(q, limit=3, include_internal=True).hits], q


def test_filters_and_paging(internal_site: Built) -> None:
    a, b, c, d = run(internal_site.site / "search-index", [
        {"q": "回填率", "filters": {"kind": ["case"]}},
        {"q": "回填率", "filters": {"kind": ["manual"]}},
        {"q": "回填率", "limit": 2, "page": 1},
        {"q": "回填率", "limit": 2, "page": 2},
    ])
    assert set(a["kinds"]) == {"case"} and set(b["kinds"]) == {"manual"}
    assert c["total"] == d["total"] and not set(c["ids"]) & set(d["ids"])


def test_snippets_are_highlighted_and_escaped(internal_site: Built) -> None:
    r, h = run(internal_site.site / "search-index", [
        {"q": "回填率"}, {"fn": "highlight", "arg": "<b>回填率</b>低", "words": ["回填率"], "grams": []}])
    assert "<mark>" in r["snippets"][0]
    assert h == "&lt;b&gt;<mark>回填率</mark>&lt;/b&gt;低"


def test_query_analysis_matches_the_python_analyzer() -> None:
    from kb.text import normalize
    from kb.text.tokenize import bigrams, split_runs

    texts = ["ＤＥＬＩＶＲＤ 状态", "SenderID申请被拒", "+62 号段 v2.3 回执", "E.164 格式 sk_live_x"]
    items = [{"fn": "normalize", "arg": t} for t in texts] + [{"fn": "splitRuns", "arg": normalize(t)} for t in texts]
    items += [{"fn": "bigrams", "arg": "回填率低"}]
    out = run(REPO, items)
    assert out[:4] == [normalize(t) for t in texts]
    assert [[r["text"] for r in runs] for runs in out[4:8]] == [[t.text for t in split_runs(normalize(x))] for x in texts]
    assert out[8] == bigrams("回填率低")


def test_public_static_index_never_returns_internal_articles(public_site: Built) -> None:
    import yaml

    internal = {yaml.safe_load(p.read_text(encoding="utf-8").split("---")[1])["id"]
                for p in public_site.content.glob("*/*.md")
                if p.name != "index.md" and "visibility: internal" in p.read_text(encoding="utf-8")}
    res = run(public_site.site / "search-index", [{"q": q, "limit": 100} for q in
                                                  ["盗刷", "通道", "原厂", "DELIVRD", "案例", "客户"]])
    for r in res:
        assert not internal & set(r["ids"])


#: (query, filters): queries whose words the static segmentation finds as the server's analyzer does
FACET_CASES = [
    ("回填率", {}), ("回填率", {"kind": ["case"]}), ("", {"kind": ["senderid"]}), ("DELIVRD", {}),
    ("盗刷 验证码", {"kind": ["manual", "case"]}), ("短链接 被拦截", {"category": ["技术问题"]}),
    ("Sender ID", {"tag": ["Sender ID"], "country": ["ID", "IN"]}), ("", {"tag": ["余额"]}),
]


def test_facet_counts_are_the_servers_over_the_whole_result_set(internal_site: Built) -> None:
    from kb.search import Searcher

    s = Searcher(internal_site.index)
    res = run(internal_site.site / "search-index", [{"q": q, "filters": f, "facets": True, "limit": 3}
                                                    for q, f in FACET_CASES])
    for (q, f), r in zip(FACET_CASES, res, strict=True):
        want = s.search(q, filters=f, include_internal=True, mode="lexical", limit=3)
        assert r["total"] == want.total > 0, (q, f)
        assert r["facets"] == want.facets, (q, f)  # every field, every value; not just the 3 hits shown
        assert sum(r["facets"]["kind"].values()) >= r["total"] > len(r["ids"]) or r["total"] <= 3


def test_a_chosen_facet_keeps_counting_its_other_values(internal_site: Built) -> None:
    plain, chosen, both = run(internal_site.site / "search-index", [
        {"q": "回填率", "facets": True},
        {"q": "回填率", "facets": True, "filters": {"kind": ["case"]}},
        {"q": "回填率", "facets": True, "filters": {"kind": ["case"], "category": ["技术问题"]}},
    ])
    assert len(plain["facets"]["kind"]) > 1
    assert chosen["facets"]["kind"] == plain["facets"]["kind"]  # disjunctive: its own filter left out
    assert chosen["total"] == plain["facets"]["kind"]["case"]
    assert chosen["facets"]["tag"] != plain["facets"]["tag"]  # the other fields count the chosen kind only
    assert both["facets"]["category"] == chosen["facets"]["category"]
    assert both["total"] == chosen["facets"]["category"]["技术问题"]


def test_search_as_you_type_never_downloads_the_facet_postings(internal_site: Built) -> None:
    index = internal_site.site / "search-index"
    typed, page, kinds = run(index, [{"q": "回填率"}, {"q": "回填率", "facets": True}, {"q": "回填率", "facets": ["kind"]}])
    assert typed["facets"] is None
    assert page["bytes"] - typed["bytes"] == sum(p.stat().st_size for p in (index / "f").glob("*.bin"))
    assert kinds["bytes"] - typed["bytes"] == (index / "f/kind.bin").stat().st_size  # only what it counts
    assert kinds["facets"] == {"kind": page["facets"]["kind"]}
