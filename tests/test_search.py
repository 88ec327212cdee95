"""Search engine on the sample knowledge base: ranking of realistic queries, filters, facets, updates, swaps."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from kb.config import ContentRoot
from kb.index import PUBLIC_SUBDIR, SUGGEST_FILE, build_index, current_version_dir, index_info, update_index
from kb.model import load_articles
from kb.ranking import WEIGHTS
from kb.ranking import term_multipliers as _term_multipliers
from kb.search import Searcher
from kb.text import Analyzer

REPO = Path(__file__).resolve().parent.parent
KB = str(Path(sys.executable).with_name("kb"))


def _articles(content: Path) -> tuple[list, Analyzer]:
    root = ContentRoot.load(content)
    arts, _ = load_articles(root)
    return [a for a in arts if a.kind and not a.is_index], Analyzer.from_root(root)


@pytest.fixture(scope="module")
def searcher(tmp_path_factory: pytest.TempPathFactory) -> Searcher:
    arts, analyzer = _articles(REPO / "content")
    idx = tmp_path_factory.mktemp("idx")
    build_index(arts, idx, analyzer)
    return Searcher(idx)


def _first(searcher: Searcher, q: str, **kw: object) -> str:
    res = searcher.search(q, include_internal=True, **kw)  # type: ignore[arg-type]
    assert res.hits, f"no hits for {q!r}"
    return res.hits[0].id


@pytest.mark.parametrize(("query", "expected"), [
    ("印尼 回填率低", {"case-2025-02-indonesia-telkomsel-acceptd", "case-2025-01-indonesia-dlr-fill-rate-low"}),
    ("子帐号登不上", {"case-2025-11-sub-account-ip-whitelist-login", "case-2025-06-sub-account-login-failed"}),
    ("DELIVRD 状态", {"case-2025-07-delivrd-but-not-received"}),
    ("SenderID申请被拒", {"case-2026-09-indonesia-generic-senderid-rejected", "case-2025-08-saudi-senderid-arabic-loa"}),
    ("沙特 senderid", {"case-2025-08-saudi-senderid-arabic-loa", "sa-saudi-arabia"}),
    ("ESME_RTHROTTLED", {"case-2026-02-smpp-throttled"}),
    ("DELIVERD", {"case-2025-07-delivrd-but-not-received", "case-2026-11-fake-delivrd-grey-route"}),
    ("hgl", {"dlr-and-fill-rate", "case-2025-02-indonesia-telkomsel-acceptd", "case-2025-01-indonesia-dlr-fill-rate-low"}),
    ("印度 DLT 模板", {"case-2026-04-india-dlt-template-mismatch", "in-india"}),
    ("长短信扣费", {"case-2025-08-balance-double-charge"}),
    ("對公轉賬充值", {"case-2025-12-recharge-not-credited"}),
    ("ＳＭＰＰ 文档 过期", {"case-2025-09-smpp-doc-outdated"}),
])
def test_realistic_query_puts_expected_article_first(searcher: Searcher, query: str, expected: set[str]) -> None:
    assert _first(searcher, query) in expected


def test_one_query_concept_is_scored_about_once() -> None:
    """人寿保险: jieba's sub-words and the bigram field repeat it; each repetition weighs less."""
    words, grams = _term_multipliers(Analyzer().query_terms("人寿保险"), WEIGHTS)
    assert words == {"人寿": WEIGHTS.sub_w, "保险": WEIGHTS.sub_w}  # the whole word keeps full weight
    assert grams == {"人寿": WEIGHTS.inner_b, "寿保": WEIGHTS.inner_b, "保险": WEIGHTS.inner_b}
    words, grams = _term_multipliers(Analyzer().query_terms("短信发不出去"), WEIGHTS)
    assert grams["信发"] == WEIGHTS.join_b  # across two words: light adjacency evidence
    assert grams["发不"] == 1.0  # two single characters: the bigram is the only multi-character evidence
    assert _term_multipliers(Analyzer().query_terms("DELIVRD SMPP"), WEIGHTS) == ({}, {})


def test_snippet_marks_query_words_and_escapes_html(searcher: Searcher) -> None:
    hit = searcher.search("印尼 回填率低", include_internal=True).hits[0]
    assert "<mark>印尼</mark>" in hit.snippet and "<mark>回填率</mark>" in hit.snippet
    assert "<script" not in hit.snippet


def test_kind_filter_and_facets_agree(searcher: Searcher) -> None:
    res = searcher.search("注册", filters={"kind": "senderid"}, include_internal=True, limit=50)
    assert res.hits and all(h.kind == "senderid" for h in res.hits)
    assert res.facets["kind"]["senderid"] == res.total
    # disjunctive: the chosen facet's other values keep their counts (as without the kind filter)
    unfiltered = searcher.search("注册", include_internal=True, limit=1)
    assert res.facets["kind"] == unfiltered.facets["kind"]
    assert sum(res.facets["country"].values()) <= res.total  # the other facets follow the filter


def test_country_filter(searcher: Searcher) -> None:
    res = searcher.search("回填率", filters={"country": "ID"}, include_internal=True)
    assert res.hits and all(h.meta.get("country") == "ID" for h in res.hits)


def test_internal_articles_invisible_without_permission(searcher: Searcher) -> None:
    internal = [a for a in _articles(REPO / "content")[0] if not a.is_public]
    assert internal, "sample content needs internal articles"
    a = internal[0]
    assert searcher.get(a.id) is None
    assert searcher.get(a.id, include_internal=True) is not None
    res = searcher.search(a.title, limit=100)
    assert a.id not in {h.id for h in res.hits}
    assert all(s.id != a.id for s in searcher.suggest(a.title[:4], limit=50))
    assert searcher.search("", limit=1).total == searcher.doc_count()


def test_suggest_by_pinyin_and_initials(searcher: Searcher) -> None:
    assert searcher.suggest("huitian")[0].text == "回填率"
    assert searcher.suggest("htl")[0].text == "回填率"
    assert any(s.text.startswith("印尼") for s in searcher.suggest("印尼"))


def test_similar_finds_cases_for_a_pasted_ticket(searcher: Searcher) -> None:
    ticket = "客户说发往印尼的验证码大部分没有状态报告，回填率只有五成多，怀疑我们漏推 DLR"
    hits = searcher.similar(ticket, include_internal=True)
    assert hits and all(h.kind == "case" for h in hits)
    assert hits[0].id in {"case-2025-01-indonesia-dlr-fill-rate-low", "case-2025-02-indonesia-telkomsel-acceptd"}


@pytest.fixture
def content_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "content"
    shutil.copytree(REPO / "content", dst)
    return dst


def test_incremental_update_applies_edits_and_deletions(content_copy: Path, tmp_path: Path) -> None:
    idx = tmp_path / "idx"
    arts, analyzer = _articles(content_copy)
    build_index(arts, idx, analyzer)
    path = content_copy / "cases" / "case-2025-04-api-signature-401.md"
    path.write_text(path.read_text(encoding="utf-8").replace("## 原因", "## 原因\n\n独角兽缓存问题。"), encoding="utf-8")
    (content_copy / "cases" / "case-2025-05-otp-pumping-burst.md").unlink()
    info = update_index(_articles(content_copy)[0], idx, analyzer)
    s = Searcher(idx)
    assert s.search("独角兽", include_internal=True).hits[0].id == "case-2025-04-api-signature-401"
    assert s.get("case-2025-05-otp-pumping-burst", include_internal=True) is None
    assert info.doc_count == len(arts) - 1


def test_failed_rebuild_keeps_last_good_index(content_copy: Path, tmp_path: Path) -> None:
    idx = tmp_path / "idx"
    arts, analyzer = _articles(content_copy)
    build_index(arts, idx, analyzer)
    before = current_version_dir(idx)

    def broken():
        yield from arts[:3]
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        build_index(broken(), idx, analyzer)
    assert current_version_dir(idx) == before
    assert sorted(p.name for p in idx.glob("v-*")) == [before.name]
    assert Searcher(idx).search("回填率", include_internal=True).total > 0


def test_search_never_fails_while_reindexing(content_copy: Path, tmp_path: Path) -> None:
    idx = tmp_path / "idx"
    arts, analyzer = _articles(content_copy)
    build_index(arts, idx, analyzer)
    s = Searcher(idx)
    errors: list[BaseException] = []
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            try:
                s.reload_if_changed()
                assert s.search("回填率", include_internal=True).total > 0
            except BaseException as e:  # noqa: BLE001
                errors.append(e)
                return

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    for t in threads:
        t.start()
    for _ in range(3):
        build_index(arts, idx, analyzer)
    stop.set()
    for t in threads:
        t.join()
    assert not errors
    assert s.reload_if_changed() in (True, False) and s.info.path == index_info(idx).path


def test_batch_contract_writes_one_ranked_line_per_query(tmp_path: Path) -> None:
    idx = tmp_path / "idx"
    subprocess.run([KB, "index", "--content", str(REPO / "content"), "--index-dir", str(idx)], check=True,
                   capture_output=True)
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"id": "q1", "text": "子帐号登不上"}\n{"id": "q2", "text": "？？"}\n', encoding="utf-8")
    out = subprocess.run([KB, "search", "--batch", str(queries), "--index-dir", str(idx), "--limit", "5",
                          "--format", "jsonl"], check=True, capture_output=True, text=True).stdout
    lines = [json.loads(line) for line in out.splitlines()]
    assert [x["query_id"] for x in lines] == ["q1", "q2"]
    assert lines[0]["hits"] and set(lines[0]["hits"][0]) == {"id", "score"}
    assert lines[1]["hits"] == []


def test_search_on_missing_index_says_what_to_run(tmp_path: Path) -> None:
    r = subprocess.run([KB, "search", "x", "--index-dir", str(tmp_path / "none")], capture_output=True, text=True)
    assert r.returncode == 1 and "kb index" in r.stderr


def test_cli_incremental_reparses_only_changed_files(content_copy: Path, tmp_path: Path) -> None:
    import json
    import subprocess

    from conftest import KB

    idx = tmp_path / "idx"

    def index(*extra: str) -> None:
        subprocess.run([KB, "index", "--content", str(content_copy), "--index-dir", str(idx), *extra],
                       check=True, capture_output=True)

    index()
    table = json.loads((idx / "files.json").read_text(encoding="utf-8"))
    assert "manuals/buy-numbers.md" in table["files"]
    edited = content_copy / "manuals/buy-numbers.md"
    edited.write_text(edited.read_text(encoding="utf-8").replace("\n## ", "\nzqxedited\n\n## ", 1), encoding="utf-8")
    removed = content_copy / "manuals/data-export.md"
    removed.unlink()
    added = content_copy / "manuals/new-one.md"
    added.write_text((content_copy / "manuals/monitoring-alerts.md").read_text(encoding="utf-8")
                     .replace("id: monitoring-alerts", "id: new-one").replace("\n## ", "\nzqxadded\n\n## ", 1),
                     encoding="utf-8")
    index("--incremental")
    s = Searcher(idx)
    assert [h.id for h in s.search("zqxedited", include_internal=True, mode="lexical").hits] == ["buy-numbers"]
    assert [h.id for h in s.search("zqxadded", include_internal=True, mode="lexical").hits] == ["new-one"]
    assert s.get("data-export", include_internal=True) is None
    assert s.get("monitoring-alerts", include_internal=True) is not None  # unchanged files stay
    total = len([p for p in content_copy.glob("*/*.md") if p.name != "index.md"])
    assert s.doc_count(include_internal=True) == total
    # what the incremental pass wrote is what a full build writes, suggestion order included
    full = tmp_path / "full"
    subprocess.run([KB, "index", "--content", str(content_copy), "--index-dir", str(full)], check=True,
                   capture_output=True)
    for sub in ("", PUBLIC_SUBDIR):
        a, b = (json.loads((current_version_dir(d / sub) / SUGGEST_FILE).read_text(encoding="utf-8"))
                for d in (idx, full))
        assert a == b
