"""The HTTP API and static site as users get them: `kb build` output served by real `kb serve` processes.

Every request goes over loopback HTTP to a subprocess; nothing of kb is imported or mocked here.
"""

from __future__ import annotations

import http.client
import json
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from apiserver import REPO, KbServer, build_site, run_kb

TOKEN = "s3cret-token-for-tests"
SECRET_MARK = "OUTSIDE-THE-SITE-7f3a"
FILL_RATE_CASE = "case-2025-01-indonesia-dlr-fill-rate-low"  # public
SENDERID_CASE = "case-2026-09-indonesia-generic-senderid-rejected"  # public
GREY_ROUTE_CASE = "case-2026-11-fake-delivrd-grey-route"  # internal
BOTNET_CASE = "case-2026-03-login-otp-botnet-pumping"  # internal
HIT_KEYS = {"id", "title", "kind", "url", "score", "snippet", "meta"}


def _front_matter(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---"):
        return {}
    return yaml.safe_load(text.split("---", 2)[1]) or {}


def _visibility() -> dict[str, str]:
    out = {}
    for path in sorted((REPO / "content").glob("*/*.md")):
        fm = _front_matter(path)
        if fm.get("id"):
            out[str(fm["id"])] = str(fm.get("visibility", "public"))
    return out


VISIBILITY = _visibility()
INTERNAL = {i for i, v in VISIBILITY.items() if v == "internal"}


# --- fixtures --------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One `kb build` of a copy of the sample content, plus a file outside the site and symlinks to it."""
    root = tmp_path_factory.mktemp("api")
    content, site, index = build_site(REPO / "content", root)
    outside = root / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(SECRET_MARK, encoding="utf-8")
    (site / "leak.txt").symlink_to(outside / "secret.txt")
    (site / "leakdir").symlink_to(outside, target_is_directory=True)
    (site / "etc-link").symlink_to("/etc")
    return {"root": root, "content": content, "site": site, "index": index, "outside": outside}


@pytest.fixture(scope="session")
def server(built: dict[str, Path]) -> Iterator[KbServer]:
    """KB_API_TOKEN set, query analytics on: callers without the token get the public index only."""
    with KbServer(built["index"], built["site"], token=TOKEN, analytics=built["root"] / "queries.sqlite",
                  cwd=built["root"]) as srv:
        yield srv


@pytest.fixture(scope="session")
def token_server(server: KbServer) -> KbServer:
    return server


@pytest.fixture(scope="session")
def open_server(built: dict[str, Path]) -> Iterator[KbServer]:
    """No KB_API_TOKEN, an internal site, loopback only: the team's own machine, everything visible."""
    with KbServer(built["index"], built["site"], cwd=built["root"]) as srv:
        yield srv


@pytest.fixture()
def api(server: KbServer) -> Iterator[httpx.Client]:
    """An anonymous caller: no token, no cookie."""
    with server.client() as c:
        yield c


@pytest.fixture()
def site(server: KbServer) -> Iterator[httpx.Client]:
    """A member of the team reading the internal site (bearer token)."""
    with server.client(TOKEN) as c:
        yield c


def _ids(body: dict[str, Any]) -> list[str]:
    return [h["id"] for h in body["hits"]]


def _search(c: httpx.Client, **params: Any) -> dict[str, Any]:
    r = c.get("/api/search", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def _raw_get(srv: KbServer, path: str, token: str | None = TOKEN) -> tuple[int, bytes]:
    """GET a path byte for byte (no client-side normalisation of ../ or %2e)."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        if token:
            conn.putheader("Authorization", f"Bearer {token}")
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


# --- search: happy paths -----------------------------------------------------------------------------

def test_search_response_has_the_documented_shape(api: httpx.Client) -> None:
    body = _search(api, q="印尼 回填率")
    assert {"query", "total", "took_ms", "hits", "facets"} <= set(body)
    assert body["query"] == "印尼 回填率"
    assert isinstance(body["total"], int) and body["total"] >= len(body["hits"]) > 0
    assert isinstance(body["took_ms"], int | float) and body["took_ms"] >= 0
    for hit in body["hits"]:
        assert set(hit) == HIT_KEYS
        assert isinstance(hit["score"], int | float)
        assert hit["meta"]["id"] == hit["id"]
    assert "<mark>" in body["hits"][0]["snippet"]
    scores = [h["score"] for h in body["hits"]]
    assert scores == sorted(scores, reverse=True)


def test_indonesia_fill_rate_query_finds_the_fill_rate_case(api: httpx.Client) -> None:
    assert VISIBILITY[FILL_RATE_CASE] == "public"
    assert FILL_RATE_CASE in _ids(_search(api, q="印尼 回填率"))[:3]


def test_senderid_rejected_query_finds_the_rejected_senderid_case(api: httpx.Client) -> None:
    hits = _search(api, q="SenderID 申请被拒")["hits"][:3]
    assert SENDERID_CASE in [h["id"] for h in hits]
    # Sender ID cases or the Sender ID guides themselves (hybrid ranks the Indonesian guide next to its case)
    assert all("senderid" in h["id"] or h["kind"] == "senderid" for h in hits), hits


def test_delivrd_status_code_is_searchable(api: httpx.Client) -> None:
    body = _search(api, q="DELIVRD")
    assert "case-2025-07-delivrd-but-not-received" in _ids(body)[:3]
    assert any("<mark>DELIVRD</mark>" in h["snippet"] for h in body["hits"])


def test_hit_url_points_to_a_page_of_the_served_site(api: httpx.Client, site: httpx.Client) -> None:
    hit = _search(api, q="印尼 回填率")["hits"][0]
    r = site.get("/" + hit["url"])
    assert r.status_code == 200
    assert "text/html" in r.headers["content-type"]
    assert hit["title"] in r.text


def test_kind_filter_keeps_only_that_kind_and_its_facet(api: httpx.Client) -> None:
    body = _search(api, q="印尼", kind="senderid")
    assert body["hits"] and {h["kind"] for h in body["hits"]} == {"senderid"}
    assert body["facets"]["kind"]["senderid"] == body["total"]  # disjunctive: other kinds keep their counts


def test_repeated_filter_values_are_ored(api: httpx.Client) -> None:
    both = _search(api, kind=["manual", "senderid"], limit=100)
    manuals = _search(api, kind="manual", limit=100)
    senderids = _search(api, kind="senderid", limit=100)
    assert both["total"] == manuals["total"] + senderids["total"]
    assert {h["kind"] for h in both["hits"]} == {"manual", "senderid"}


def test_category_and_subcategory_filters_match_case_metadata(api: httpx.Client) -> None:
    body = _search(api, q="回填率", category="技术问题", limit=100)
    assert body["hits"]
    assert all(h["meta"]["category"] == "技术问题" for h in body["hits"])
    sub = _search(api, subcategory="回填率", limit=100)
    assert FILL_RATE_CASE in _ids(sub)
    assert all(h["meta"]["subcategory"] == "回填率" for h in sub["hits"])


def test_country_owner_tag_and_status_filters(api: httpx.Client) -> None:
    assert _ids(_search(api, country="ID")) == ["id-indonesia"]
    owner = _search(api, owner="zhang.wei", limit=100)
    assert owner["hits"] and all(h["meta"]["owner"] == "zhang.wei" for h in owner["hits"])
    tag = _search(api, q="回执", tag="状态报告", limit=100)
    assert tag["hits"] and all("状态报告" in h["meta"]["tags"] for h in tag["hits"])
    published = _search(api, status="published", limit=1)
    assert published["facets"]["status"] == {"published": published["total"]}


def test_facet_counts_add_up_to_the_total(api: httpx.Client) -> None:
    body = _search(api, q="验证码")
    assert body["total"] > 10
    assert sum(body["facets"]["kind"].values()) == body["total"]
    assert sum(body["facets"]["status"].values()) == body["total"]
    cases = body["facets"]["kind"].get("case", 0)
    assert sum(body["facets"]["category"].values()) == cases  # only cases have a category


def test_facet_count_equals_filtered_total(api: httpx.Client) -> None:
    facets = _search(api, q="盗刷")["facets"]
    for kind, n in facets["kind"].items():
        assert _search(api, q="盗刷", kind=kind)["total"] == n


def test_pages_are_consecutive_slices_of_one_ranking(api: httpx.Client) -> None:
    whole = _search(api, q="印尼 回填率", limit=9)
    pages = [_search(api, q="印尼 回填率", limit=3, page=p) for p in (1, 2, 3)]
    assert [i for p in pages for i in _ids(p)] == _ids(whole)
    assert {p["total"] for p in pages} == {whole["total"]}
    assert [p["page"] for p in pages] == [1, 2, 3]


def test_page_past_the_end_is_empty_not_an_error(api: httpx.Client) -> None:
    body = _search(api, q="印尼", page=1000, limit=100)
    assert body["hits"] == [] and body["total"] > 0


def test_limit_bounds_the_number_of_hits(api: httpx.Client) -> None:
    assert len(_search(api, q="短信", limit=1)["hits"]) == 1
    assert len(_search(api, kind="case", limit=100)["hits"]) == _search(api, kind="case")["total"]


# --- other endpoints -----------------------------------------------------------------------------------

def test_suggest_completes_a_glossary_term_from_chinese_and_pinyin(api: httpx.Client) -> None:
    for prefix in ("盗", "dao"):
        r = api.get("/api/suggest", params={"q": prefix})
        assert r.status_code == 200
        body = r.json()
        assert body["query"] == prefix
        assert "盗刷" in [s["text"] for s in body["suggestions"]]


def test_suggest_completes_a_public_title(api: httpx.Client) -> None:
    r = api.get("/api/suggest", params={"q": "印尼验证码"})
    assert r.status_code == 200
    assert FILL_RATE_CASE in [s["id"] for s in r.json()["suggestions"]]


def test_similar_finds_cases_like_a_new_ticket(api: httpx.Client) -> None:
    ticket = "客户反馈印尼验证码回填率只有五成，IOH 的 DLR 回执很慢，有些根本不回传，要求排查"
    r = api.post("/api/similar", json={"text": ticket, "limit": 3})
    assert r.status_code == 200
    body = r.json()
    assert {"took_ms", "total", "hits"} <= set(body)
    assert body["total"] == len(body["hits"]) <= 3
    assert body["hits"][0]["id"] == FILL_RATE_CASE
    assert all(set(h) == HIT_KEYS and h["kind"] == "case" for h in body["hits"])


def test_similar_can_look_in_another_kind(api: httpx.Client) -> None:
    r = api.post("/api/similar", json={"text": "印尼 Sender ID 报备需要哪些材料，多久能通过", "kind": "senderid"})
    assert r.status_code == 200
    hits = r.json()["hits"]
    assert hits and {h["kind"] for h in hits} == {"senderid"}
    assert "id-indonesia" in [h["id"] for h in hits[:3]]


def test_article_returns_metadata_markdown_and_html(api: httpx.Client) -> None:
    r = api.get(f"/api/articles/{FILL_RATE_CASE}")
    assert r.status_code == 200
    a = r.json()
    assert a["id"] == FILL_RATE_CASE and a["kind"] == "case"
    assert a["title"] == "印尼验证码回填率低于 60%"
    assert a["meta"]["subcategory"] == "回填率"
    assert "现象" in a["markdown"] and "<h2>" in a["html"]


def test_health_reports_index_and_document_count(api: httpx.Client) -> None:
    r = api.get("/api/health")
    assert r.status_code == 200
    h = r.json()
    assert h["status"] == "ok" and h["built_at"] and h["index_version"]
    assert h["documents"] == len(VISIBILITY) - len(INTERNAL)


def test_openapi_document_describes_every_endpoint(api: httpx.Client) -> None:
    r = api.get("/api/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.")
    assert {"/api/search", "/api/suggest", "/api/similar", "/api/articles/{id}", "/api/health"} <= set(doc["paths"])
    names = {p["name"] for p in doc["paths"]["/api/search"]["get"]["parameters"]}
    assert names == {"q", "limit", "page", "kind", "tag", "category", "subcategory", "country", "owner", "status",
                     "facets", "log", "mode"}


def test_docs_page_is_chinese_html(api: httpx.Client) -> None:
    r = api.get("/api/docs")
    assert r.status_code == 200
    assert "text/html" in r.headers["content-type"]
    assert "kb 搜索 API" in r.text and "openapi.json" in r.text


def test_site_is_served_at_the_root(site: httpx.Client) -> None:
    r = site.get("/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    r = site.get("/cases")
    assert r.status_code == 308 and r.headers["location"] == "/cases/"
    assert site.get("/cases/").status_code == 200
    assert site.get("/sitemap.xml").status_code == 200


def test_missing_site_page_is_404(site: httpx.Client) -> None:
    assert site.get("/no/such/page/").status_code == 404


# --- errors ------------------------------------------------------------------------------------------

SEARCH_ERRORS = [
    pytest.param({"q": "印" * 4097}, 400, "too_long", id="q-4097-chars"),
    pytest.param({"q": "印尼", "limit": "0"}, 400, "out_of_range", id="limit-0"),
    pytest.param({"q": "印尼", "limit": "101"}, 400, "out_of_range", id="limit-101"),
    pytest.param({"q": "印尼", "limit": "abc"}, 400, "invalid_parameter", id="limit-abc"),
    pytest.param({"q": "印尼", "page": "1001"}, 400, "out_of_range", id="page-1001"),
    pytest.param({"q": "印尼", "page": "0"}, 400, "out_of_range", id="page-0"),
    pytest.param({"q": "印尼", "sort": "date"}, 400, "unknown_parameter", id="unknown-param"),
    pytest.param({"q": "印尼", "kind": "faq"}, 400, "invalid_parameter", id="bad-kind"),
    pytest.param({"q": "印尼", "category": "其他问题"}, 400, "invalid_parameter", id="bad-category"),
    pytest.param({"q": "印尼", "status": "deleted"}, 400, "invalid_parameter", id="bad-status"),
    pytest.param({"q": "印尼", "tag": "x" * 65}, 400, "too_long", id="filter-65-chars"),
    pytest.param({"q": "印\x00尼"}, 400, "invalid_parameter", id="nul-in-q"),
    pytest.param({"q": ""}, 400, "missing_parameter", id="empty-q"),
    pytest.param({"q": "   "}, 400, "missing_parameter", id="blank-q"),
    pytest.param({}, 400, "missing_parameter", id="no-params"),
]


def _assert_json_error(r: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert "Traceback" not in r.text
    err = r.json()["error"]
    assert isinstance(err["code"], str) and err["code"]
    assert isinstance(err["message"], str) and err["message"]
    if code:
        assert err["code"] == code
    return err


@pytest.mark.parametrize(("params", "status", "code"), SEARCH_ERRORS)
def test_search_rejects_bad_input_with_a_json_error(api: httpx.Client, params: dict[str, str], status: int,
                                                    code: str) -> None:
    _assert_json_error(api.get("/api/search", params=params), status, code)


def test_unknown_parameter_error_names_it(api: httpx.Client) -> None:
    err = _assert_json_error(api.get("/api/search", params={"q": "印尼", "sort": "date"}), 400)
    assert "sort" in err["message"]


SUGGEST_ERRORS = [
    pytest.param({}, "missing_parameter", id="no-q"),
    pytest.param({"q": "盗" * 65}, "too_long", id="q-65-chars"),
    pytest.param({"q": "盗", "limit": "21"}, "out_of_range", id="limit-21"),
    pytest.param({"q": "盗", "page": "2"}, "unknown_parameter", id="unknown-param"),
]


@pytest.mark.parametrize(("params", "code"), SUGGEST_ERRORS)
def test_suggest_rejects_bad_input(api: httpx.Client, params: dict[str, str], code: str) -> None:
    _assert_json_error(api.get("/api/suggest", params=params), 400, code)


JSON = {"content-type": "application/json"}
SIMILAR_ERRORS = [
    pytest.param(b'{"text": "\xe5\x8d\xb0', JSON, 400, "malformed_json", id="truncated-json"),
    pytest.param(b"\xff\xfe", JSON, 400, "malformed_json", id="not-utf8"),
    pytest.param('["印尼 回填率"]', JSON, 400, "invalid_body", id="array-body"),
    pytest.param('"印尼 回填率"', JSON, 400, "invalid_body", id="string-body"),
    pytest.param('{"text": "印尼", "top_k": 3}', JSON, 400, "unknown_parameter", id="unknown-field"),
    pytest.param(b"{}", JSON, 400, "missing_parameter", id="missing-text"),
    pytest.param(b'{"text": "   "}', JSON, 400, "missing_parameter", id="blank-text"),
    pytest.param(b'{"text": 42}', JSON, 400, "missing_parameter", id="text-not-string"),
    pytest.param(json.dumps({"text": "回" * 20_001}).encode(), JSON, 400, "too_long", id="text-20001"),
    pytest.param('{"text": "印尼", "kind": "faq"}', JSON, 400, "invalid_parameter", id="bad-kind"),
    pytest.param('{"text": "印尼", "limit": 0}', JSON, 400, "out_of_range", id="limit-0"),
    pytest.param('{"text": "印尼", "limit": true}', JSON, 400, "out_of_range", id="limit-bool"),
    pytest.param('{"text": "印尼", "limit": "5"}', JSON, 400, "out_of_range", id="limit-string"),
    pytest.param("text=印尼".encode(), {"content-type": "application/x-www-form-urlencoded"}, 415,
                 "unsupported_media_type", id="form-body"),
    pytest.param('{"text": "印尼"}', {"content-type": "text/plain"}, 415, "unsupported_media_type",
                 id="text-plain"),
    pytest.param('{"text": "印尼"}', {}, 415, "unsupported_media_type", id="no-content-type"),
    pytest.param(b'{"text": "' + b"a" * (300 * 1024) + b'"}', JSON, 413, "too_large", id="body-300k"),
]


@pytest.mark.parametrize(("body", "headers", "status", "code"), SIMILAR_ERRORS)
def test_similar_rejects_bad_bodies(api: httpx.Client, body: str | bytes, headers: dict[str, str], status: int,
                                    code: str) -> None:
    content = body.encode() if isinstance(body, str) else body
    _assert_json_error(api.post("/api/similar", content=content, headers=headers), status, code)


def test_unknown_article_is_a_json_404(api: httpx.Client) -> None:
    _assert_json_error(api.get("/api/articles/case-1999-01-no-such-case"), 404, "not_found")
    _assert_json_error(api.get("/api/articles/" + "x" * 500), 404, "not_found")


def test_unknown_api_path_is_a_json_404(api: httpx.Client) -> None:
    _assert_json_error(api.get("/api/nothing-here"), 404, "not_found")
    _assert_json_error(api.get("/api/search/extra"), 404, "not_found")
    _assert_json_error(api.get("/api"), 404, "not_found")


def test_writing_to_the_site_is_method_not_allowed(api: httpx.Client) -> None:
    for method in ("POST", "PUT", "DELETE"):
        _assert_json_error(api.request(method, "/index.html"), 405, "method_not_allowed")


def test_options_on_an_api_endpoint_is_method_not_allowed(api: httpx.Client) -> None:
    _assert_json_error(api.request("OPTIONS", "/api/search"), 405, "method_not_allowed")


@pytest.mark.parametrize(("method", "path"), [("DELETE", "/api/search"), ("POST", "/api/search"),
                                              ("GET", "/api/similar"), ("PUT", "/api/health")])
def test_wrong_method_on_an_api_endpoint_is_405(api: httpx.Client, method: str, path: str) -> None:
    _assert_json_error(api.request(method, path), 405, "method_not_allowed")


# --- static site: traversal --------------------------------------------------------------------------

TRAVERSALS = [
    "/../etc/passwd",
    "/../../../../etc/passwd",
    "/%2e%2e%2fetc/passwd",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/%252e%252e%252fetc%252fpasswd",
    "//etc/passwd",
    "/assets/../../../../etc/passwd",
    "/..%5c..%5cetc%5cpasswd",
    "/%2e%2e/outside/secret.txt",
    "/../outside/secret.txt",
    "/leak.txt",
    "/leakdir/secret.txt",
    "/leakdir/",
    "/etc-link/passwd",
    "/index.html%00.txt",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_static_site_never_serves_files_outside_the_site(server: KbServer, built: dict[str, Path],
                                                         path: str) -> None:
    assert (built["site"] / "leak.txt").read_text(encoding="utf-8") == SECRET_MARK  # the symlink does work
    status, body = _raw_get(server, path)
    assert status != 200
    assert SECRET_MARK.encode() not in body
    assert b"root:x:0:0" not in body


# --- token -------------------------------------------------------------------------------------------

QUERIES_WITH_INTERNAL_HITS = ["DELIVRD", "验证码 盗刷", "盗刷", "通道"]


@pytest.fixture(params=["no-token", "basic-auth"])
def public_client(request: pytest.FixtureRequest, token_server: KbServer) -> Iterator[httpx.Client]:
    """The ways to be anonymous: no credentials at all, or an Authorization scheme that is not a token."""
    headers = {"Authorization": f"Basic {TOKEN}"} if request.param == "basic-auth" else {}
    with httpx.Client(base_url=token_server.url, headers=headers, timeout=30) as c:
        yield c


@pytest.fixture()
def internal_client(token_server: KbServer) -> Iterator[httpx.Client]:
    with token_server.client(TOKEN) as c:
        yield c


def test_internal_fixtures_are_really_internal() -> None:
    assert {GREY_ROUTE_CASE, BOTNET_CASE} <= INTERNAL
    assert len(INTERNAL) >= 5


def test_without_token_search_hits_are_public(public_client: httpx.Client) -> None:
    for q in QUERIES_WITH_INTERNAL_HITS:
        ids = _ids(_search(public_client, q=q, limit=100))
        assert ids and not set(ids) & INTERNAL, q
    assert not set(_ids(_search(public_client, kind="case", limit=100))) & INTERNAL


def test_with_token_search_hits_include_internal(internal_client: httpx.Client) -> None:
    ids = _ids(_search(internal_client, q="DELIVRD"))
    assert GREY_ROUTE_CASE in ids[:3]
    assert BOTNET_CASE in _ids(_search(internal_client, q="验证码 盗刷"))[:3]


def test_without_token_totals_and_facets_count_public_only(public_client: httpx.Client,
                                                           internal_client: httpx.Client) -> None:
    pub = _search(public_client, kind="case", limit=1)
    full = _search(internal_client, kind="case", limit=1)
    internal_cases = {i for i in INTERNAL if i.startswith("case-")}
    assert full["total"] - pub["total"] == len(internal_cases)
    assert pub["facets"]["kind"]["case"] == pub["total"]
    assert full["facets"]["kind"]["case"] == full["total"]
    assert sum(pub["facets"]["kind"].values()) < sum(full["facets"]["kind"].values())
    q_pub, q_full = _search(public_client, q="盗刷"), _search(internal_client, q="盗刷")
    assert q_pub["total"] < q_full["total"]
    assert sum(q_pub["facets"]["kind"].values()) == q_pub["total"]
    assert q_pub["facets"]["subcategory"].get("盗刷", 0) < q_full["facets"]["subcategory"]["盗刷"]


def test_facets_list_every_filter_value_the_caller_may_see(public_client: httpx.Client,
                                                         internal_client: httpx.Client) -> None:
    # a search page before its first search: every value with its count, internal ones only with a token
    pub, full = (c.get("/api/facets").json() for c in (public_client, internal_client))
    assert full["total"] == len(VISIBILITY) and pub["total"] == len(VISIBILITY) - len(INTERNAL)
    assert sum(pub["facets"]["kind"].values()) == pub["total"]
    for field, counts in pub["facets"].items():
        assert all(n <= full["facets"][field][v] for v, n in counts.items()), field
    for kind, n in pub["facets"]["kind"].items():
        assert _search(public_client, kind=kind, limit=1)["total"] == n
    internal_tags = set(full["facets"]["tag"]) - set(pub["facets"]["tag"])
    assert internal_tags  # tags only internal articles carry stay out of the public answer
    assert not internal_tags & set(json.dumps(pub, ensure_ascii=False).split('"'))
    _assert_json_error(public_client.get("/api/facets", params={"q": "x"}), 400, "unknown_parameter")


def test_without_token_suggest_hides_internal_titles(public_client: httpx.Client,
                                                     internal_client: httpx.Client) -> None:
    for prefix in ("备用通道", "登录验证码", "bytd"):
        pub = public_client.get("/api/suggest", params={"q": prefix}).json()["suggestions"]
        full = internal_client.get("/api/suggest", params={"q": prefix}).json()["suggestions"]
        assert not {s["id"] for s in pub} & INTERNAL, prefix
        assert {s["id"] for s in full} & INTERNAL, prefix


def test_without_token_similar_hides_internal_cases(public_client: httpx.Client,
                                                    internal_client: httpx.Client) -> None:
    ticket = {"text": "客户登录页的验证码被大量刷量，多国号段同时爆量，余额消耗很快，怎么止损", "limit": 10}
    pub = public_client.post("/api/similar", json=ticket).json()["hits"]
    full = internal_client.post("/api/similar", json=ticket).json()["hits"]
    assert pub and not {h["id"] for h in pub} & INTERNAL
    assert full[0]["id"] == BOTNET_CASE


def test_without_token_internal_article_is_404(public_client: httpx.Client,
                                               internal_client: httpx.Client) -> None:
    for aid in (GREY_ROUTE_CASE, BOTNET_CASE, "ticket-handling-sop"):
        _assert_json_error(public_client.get(f"/api/articles/{aid}"), 404, "not_found")
        r = internal_client.get(f"/api/articles/{aid}")
        assert r.status_code == 200 and r.json()["id"] == aid


def test_without_token_health_counts_public_documents(public_client: httpx.Client,
                                                      internal_client: httpx.Client) -> None:
    pub = public_client.get("/api/health").json()["documents"]
    full = internal_client.get("/api/health").json()["documents"]
    assert full == len(VISIBILITY)
    assert pub == len(VISIBILITY) - len(INTERNAL)


def test_token_scheme_is_bearer_only(token_server: KbServer) -> None:
    r = httpx.get(f"{token_server.url}/api/articles/{GREY_ROUTE_CASE}", headers={"Authorization": f"Basic {TOKEN}"})
    _assert_json_error(r, 404, "not_found")
    r = httpx.get(f"{token_server.url}/api/articles/{GREY_ROUTE_CASE}", headers={"Authorization": f"bearer {TOKEN}"})
    assert r.status_code == 200


# --- hot swap, analytics, CORS, workers ----------------------------------------------------------------

def test_index_swap_under_load_loses_no_request(built: dict[str, Path], tmp_path: Path) -> None:
    index = tmp_path / "index"
    shutil.copytree(built["index"], index)
    stop = threading.Event()
    failures: list[str] = []
    counts = [0] * 4
    queries = ["印尼 回填率", "SenderID 申请被拒", "DELIVRD", "盗刷", "余额 充值"]

    with KbServer(index, built["site"], cwd=tmp_path) as srv:
        def load(n: int) -> None:
            with srv.client() as c:
                i = 0
                while not stop.is_set() and i < 100_000:
                    q = queries[i % len(queries)]
                    i += 1
                    try:
                        r = c.get("/api/search", params={"q": q})
                        if r.status_code != 200 or not r.json()["hits"]:
                            failures.append(f"{q}: {r.status_code} {r.text[:200]}")
                    except httpx.HTTPError as e:
                        failures.append(f"{q}: {e!r}")
                    counts[n] += 1

        threads = [threading.Thread(target=load, args=(n,), daemon=True) for n in range(4)]
        for t in threads:
            t.start()
        try:
            with srv.client() as c:
                for _ in range(3):
                    before = c.get("/api/health").json()["built_at"]
                    time.sleep(1.1)  # built_at has one-second resolution
                    run_kb("index", "--content", str(built["content"]), "--index-dir", str(index))
                    deadline = time.monotonic() + 2.0
                    after = before
                    while after == before and time.monotonic() < deadline:
                        time.sleep(0.05)
                        after = c.get("/api/health").json()["built_at"]
                    assert after != before, "server still on the old index 2 s after the swap"
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=30)
    assert not failures, failures[:5]
    assert all(n > 0 for n in counts)


def test_cached_answer_follows_an_updated_index(built: dict[str, Path], tmp_path: Path) -> None:
    """The response cache is keyed by index version: after `kb index` the same request is answered anew."""
    content, index = tmp_path / "content", tmp_path / "index"
    shutil.copytree(built["content"], content)
    shutil.copytree(built["index"], index)
    word = "qzx8807kb"
    with KbServer(index, built["site"], cwd=tmp_path) as srv, srv.client() as c:
        for _ in range(2):  # the second answer comes from the cache
            assert c.get("/api/search", params={"q": word}).json()["total"] == 0
        before = c.get("/api/health").json()["built_at"]
        page = content / "manuals" / "balance-and-recharge.md"
        page.write_text(page.read_text(encoding="utf-8") + f"\n\n测试代码 {word} 出现在这里。\n", encoding="utf-8")
        time.sleep(1.1)  # built_at has one-second resolution
        run_kb("index", "--content", str(content), "--index-dir", str(index))
        deadline = time.monotonic() + 5
        while c.get("/api/health").json()["built_at"] == before and time.monotonic() < deadline:
            time.sleep(0.05)
        body = c.get("/api/search", params={"q": word}).json()
        assert body["total"] >= 1 and "balance-and-recharge" in body["hits"][0]["url"]


def test_analytics_records_queries_without_client_address(server: KbServer, built: dict[str, Path]) -> None:
    queries = {"印尼 回填率": False, "SenderID 申请被拒": False, "xyzzyq": True}  # a lone code: lexical even in hybrid
    with server.client() as c:
        for q in queries:
            c.get("/api/search", params={"q": q})
        c.get("/api/search", params={"q": "回执", "kind": "case"})
    db = sqlite3.connect(f"file:{built['root'] / 'queries.sqlite'}?mode=ro", uri=True)
    try:
        db.row_factory = sqlite3.Row
        rows = db.execute("SELECT * FROM queries").fetchall()
    finally:
        db.close()
    by_query = {r["query"]: r for r in rows}
    for q, zero in queries.items():
        assert q in by_query
        assert bool(by_query[q]["zero"]) is zero
        assert (by_query[q]["total"] == 0) is zero
    assert json.loads(by_query["回执"]["filters"]) == {"kind": ["case"]}
    for r in rows:
        assert r["client"] is None
        assert not any("127.0.0.1" in str(v) for v in tuple(r))


def test_cors_header_only_for_the_allowed_origin(built: dict[str, Path], tmp_path: Path) -> None:
    with KbServer(built["index"], built["site"], cors=["http://example.test"], cwd=tmp_path) as srv, \
            srv.client() as c:
        ok = c.get("/api/search", params={"q": "印尼"}, headers={"Origin": "http://example.test"})
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == "http://example.test"
        other = c.get("/api/search", params={"q": "印尼"}, headers={"Origin": "http://evil.test"})
        assert "access-control-allow-origin" not in other.headers
        pre = c.options("/api/similar", headers={"Origin": "http://example.test",
                                                 "Access-Control-Request-Method": "POST",
                                                 "Access-Control-Request-Headers": "content-type"})
        assert pre.status_code == 200
        assert pre.headers["access-control-allow-origin"] == "http://example.test"
        bad = c.options("/api/similar", headers={"Origin": "http://evil.test",
                                                 "Access-Control-Request-Method": "POST"})
        assert bad.status_code == 400
        assert "access-control-allow-origin" not in bad.headers


def test_no_cors_header_without_cors_option(api: httpx.Client) -> None:
    r = api.get("/api/search", params={"q": "印尼"}, headers={"Origin": "http://example.test"})
    assert "access-control-allow-origin" not in r.headers


def test_two_workers_serve_the_same_api_and_token_rule(built: dict[str, Path], tmp_path: Path) -> None:
    with KbServer(built["index"], built["site"], token=TOKEN, workers=2, cwd=tmp_path) as srv:
        with srv.client() as c:
            for _ in range(6):
                ids = _ids(_search(c, q="DELIVRD"))
                assert "case-2025-07-delivrd-but-not-received" in ids and GREY_ROUTE_CASE not in ids
        with srv.client(TOKEN) as c:
            assert GREY_ROUTE_CASE in _ids(_search(c, q="DELIVRD"))
            assert c.get("/").status_code == 200


# --- fuzzing -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("authorized", [False, True], ids=["public", "token"])
def test_schemathesis_finds_no_server_error(token_server: KbServer, tmp_path: Path, authorized: bool) -> None:
    cli = Path(sys.executable).with_name("schemathesis")
    if not cli.exists():
        pytest.skip("schemathesis is not installed (pip install -e '.[test]')")
    cmd = [str(cli), "run", f"{token_server.url}/api/openapi.json", "--url", token_server.url,
           "--checks", "not_a_server_error", "--max-examples", "50", "--seed", "20261126",
           "--request-timeout", "10", "--workers", "1"]
    if authorized:
        cmd += ["--header", f"Authorization: Bearer {TOKEN}"]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    from kb.api.endpoints import ENDPOINTS

    operations = sum(len(ep.methods) for ep in ENDPOINTS if ep.documented)
    assert f"{operations} selected" in proc.stdout  # every documented operation was fuzzed



def test_facets_can_be_skipped_and_bad_flag_is_400(api: httpx.Client) -> None:
    r = api.get("/api/search", params={"q": "回填率", "facets": "false"})
    assert r.status_code == 200 and r.json()["facets"] == {}
    assert api.get("/api/search", params={"q": "回填率"}).json()["facets"]
    _assert_json_error(api.get("/api/search", params={"q": "回填率", "facets": "maybe"}), 400, "invalid_parameter")


def test_response_cache_is_bounded_in_entries_and_bytes() -> None:
    from kb.api import ResponseCache

    cache = ResponseCache(3, max_bytes=10)
    cache.put(("a",), (b"12345", 1))
    cache.put(("b",), (b"12345", 1))
    cache.put(("c",), (b"1", 1))  # over 10 bytes: the least recently used entry goes
    assert cache.get(("a",)) is None and cache.get(("b",)) is not None and cache.bytes == 6
    cache.put(("big",), (b"x" * 11, 1))  # larger than the whole budget: not kept
    assert cache.get(("big",)) is None
    for k in ("d", "e"):
        cache.put((k,), (b"1", 1))
    assert len(cache._items) == 3 and cache.get(("c",)) is None  # b was read after c: c goes first


# --- the token rules: internal pages, the login cookie, wrong tokens ---------------------------------------

API_GETS = ["/api/search?q=印尼", "/api/suggest?q=盗", f"/api/articles/{FILL_RATE_CASE}", "/api/health"]


@pytest.mark.parametrize("path", API_GETS)
def test_a_wrong_token_is_401_never_a_public_answer(token_server: KbServer, path: str) -> None:
    with token_server.client(TOKEN + "x") as c:
        err = _assert_json_error(c.get(path), 401, "invalid_token")
        assert "令牌" in err["message"]


def test_a_wrong_token_on_similar_is_401(token_server: KbServer) -> None:
    with token_server.client("nope") as c:
        _assert_json_error(c.post("/api/similar", json={"text": "印尼 回填率"}), 401, "invalid_token")


def test_with_a_token_internal_pages_need_it(token_server: KbServer, built: dict[str, Path]) -> None:
    with token_server.client() as c:
        for path in ("/", "/cases/", f"/cases/{GREY_ROUTE_CASE}/", "/search-index/manifest.json", "/no/such/"):
            r = c.get(path)
            assert r.status_code == 303, path
            assert r.headers["location"].startswith("/login/?next=")
            assert GREY_ROUTE_CASE not in r.text
    with token_server.client(TOKEN) as c:
        assert c.get("/").status_code == 200
        assert c.get("/search-index/manifest.json").status_code == 200


def test_login_page_exchanges_the_token_for_an_httponly_strict_cookie(token_server: KbServer) -> None:
    with httpx.Client(base_url=token_server.url, timeout=30) as c:
        page = c.get("/login/", params={"next": "/cases/"})
        assert page.status_code == 200 and "访问令牌" in page.text and 'lang="zh-CN"' in page.text
        bad = c.post("/login/", data={"token": "wrong", "next": "/cases/"})
        assert bad.status_code == 401 and "令牌不正确" in bad.text and "set-cookie" not in bad.headers
        ok = c.post("/login/", data={"token": TOKEN, "next": "/cases/"})
        assert ok.status_code == 303 and ok.headers["location"] == "/cases/"
        cookie = ok.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
        assert TOKEN not in cookie
        assert c.get("/cases/").status_code == 200  # the cookie jar sends it
        ids = _ids(_search(c, q="DELIVRD"))
        assert GREY_ROUTE_CASE in ids  # the cookie grants internal answers too
        c.get("/logout/")
        assert c.get("/cases/").status_code == 303


def test_a_stale_cookie_is_401_on_the_api_and_back_to_login_on_pages(token_server: KbServer) -> None:
    with httpx.Client(base_url=token_server.url, timeout=30, cookies={"kb_session": "0" * 64}) as c:
        _assert_json_error(c.get("/api/search", params={"q": "印尼"}), 401, "invalid_token")
        r = c.get("/cases/")
        assert r.status_code == 303 and r.headers["location"].startswith("/login/")


def test_wrong_tokens_from_one_address_are_limited(built: dict[str, Path]) -> None:
    """Guessing the token: after MAX_FAILURES wrong ones (bearer, cookie, login form alike) the address gets a 429
    with Retry-After for everything it sends, the right token included, so guessing learns nothing."""
    from kb.api.auth import COOKIE, MAX_FAILURES

    with KbServer(built["index"], built["site"], token=TOKEN, cwd=built["root"]) as srv, \
            httpx.Client(base_url=srv.url, timeout=30) as c:
        for i in range(MAX_FAILURES):
            if i % 3 == 0:
                r = c.get("/api/search", params={"q": "印尼"}, headers={"Authorization": f"Bearer guess{i}"})
                assert r.status_code == 401
            elif i % 3 == 1:
                r = c.get("/api/search", params={"q": "印尼"}, headers={"Cookie": f"{COOKIE}=guess{i}"})
                assert r.status_code == 401
            else:
                r = c.post("/login/", data={"token": f"guess{i}", "next": "/"})
                assert r.status_code == 401
        r = c.get("/api/search", params={"q": "印尼"}, headers={"Authorization": f"Bearer {TOKEN}"})
        err = _assert_json_error(r, 429, "too_many_attempts")
        assert 0 < int(r.headers["retry-after"]) <= 600 and "秒后再试" in err["message"]
        page = c.post("/login/", data={"token": TOKEN, "next": "/"})
        assert page.status_code == 429 and "retry-after" in page.headers and COOKIE not in page.headers.get(
            "set-cookie", "")
        # a caller sending no credential is not refused: it gets public answers as before
        assert c.get("/api/search", params={"q": "印尼"}).status_code == 200


@pytest.mark.parametrize("target", ["https://evil.test/", "//evil.test/x", "/\\evil.test", "javascript:alert(1)"])
def test_login_is_no_open_redirect(token_server: KbServer, target: str) -> None:
    r = httpx.post(f"{token_server.url}/login/", data={"token": TOKEN, "next": target})
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_an_internal_id_is_answered_exactly_like_a_missing_one(api: httpx.Client) -> None:
    internal = api.get(f"/api/articles/{GREY_ROUTE_CASE}")
    missing = api.get("/api/articles/case-1999-01-no-such-case")
    assert internal.status_code == missing.status_code == 404
    assert internal.content == missing.content
    assert dict(internal.headers).keys() == dict(missing.headers).keys()


def test_anonymous_answers_do_not_depend_on_internal_articles(api: httpx.Client, open_server: KbServer,
                                                              built: dict[str, Path]) -> None:
    """Same answer as a server over the public index alone: totals, facets, scores and suggestions."""
    public_only = built["root"] / "public-only"
    if not public_only.exists():
        shutil.copytree(built["index"] / "public", public_only)
    with KbServer(public_only, None, cwd=built["root"]) as ref, ref.client() as r:
        for q in ("盗刷", "验证码", "DELIVRD", "通道", "bytd"):
            a, b = _search(api, q=q, limit=100), _search(r, q=q, limit=100)
            assert (a["total"], a["facets"], a["hits"]) == (b["total"], b["facets"], b["hits"]), q
            sa = api.get("/api/suggest", params={"q": q}).json()
            assert sa == r.get("/api/suggest", params={"q": q}).json()


def test_without_a_token_loopback_serves_the_internal_site_and_its_search(open_server: KbServer) -> None:
    with open_server.client() as c:
        assert c.get("/").status_code == 200
        assert GREY_ROUTE_CASE in _ids(_search(c, q="DELIVRD"))
        assert c.get(f"/api/articles/{GREY_ROUTE_CASE}").status_code == 200


def test_without_a_token_other_host_names_are_refused(open_server: KbServer) -> None:
    """DNS rebinding: a page of evil.test that resolves to 127.0.0.1 must not read the internal site."""
    r = httpx.get(f"{open_server.url}/", headers={"Host": "evil.test"})
    _assert_json_error(r, 400, "invalid_host")
    r = httpx.get(f"{open_server.url}/api/search", params={"q": "DELIVRD"}, headers={"Host": "evil.test:80"})
    _assert_json_error(r, 400, "invalid_host")
    assert httpx.get(f"http://localhost:{open_server.port}/api/health").status_code == 200


def test_every_served_page_points_the_ui_at_the_server_search(site: httpx.Client, open_server: KbServer) -> None:
    for path in ("/", "/cases/", "/no/such/page/"):
        assert '<meta name="kb-api" content="/api/">' in site.get(path).text, path
    with open_server.client() as c:
        assert '<meta name="kb-api" content="/api/">' in c.get("/").text


def test_serve_refuses_a_public_address_for_an_internal_site_without_token(built: dict[str, Path]) -> None:
    proc = subprocess.run([str(Path(sys.executable).with_name("kb")), "serve", "--host", "0.0.0.0", "--port", "1",
                           "--site-dir", str(built["site"]), "--index-dir", str(built["index"]), "--analytics", ""],
                          capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in __import__("os").environ.items() if k != "KB_API_TOKEN"})
    assert proc.returncode == 2
    assert "KB_API_TOKEN" in proc.stderr and "拒绝" in proc.stderr


# --- site files: conditional GET --------------------------------------------------------------------------

def test_pages_and_assets_answer_conditional_gets_with_304(site: httpx.Client) -> None:
    for path in ("/", "/sitemap.xml"):
        first = site.get(path)
        assert first.status_code == 200 and first.headers["etag"]
        again = site.get(path, headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304 and again.content == b""


def test_hidden_files_of_the_site_are_not_served(site: httpx.Client) -> None:
    assert site.get("/.kb-build.json").status_code == 404


# --- malformed requests: always 4xx JSON ------------------------------------------------------------------

def _raw(srv: KbServer, data: bytes, read_timeout: float = 15) -> bytes:
    """Send bytes as they are on a fresh connection and return everything the server answers."""
    import socket

    with socket.create_connection(("127.0.0.1", srv.port), timeout=read_timeout) as s:
        s.sendall(data)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            out += chunk
    return out


@pytest.mark.parametrize("body", [b'{"text": "\\ud800"}', b'{"text": "\\udfff\\ud800 abc"}',
                                  b'{"text": "x", "kind": "\\ud83d"}'], ids=["lone-high", "swapped", "in-kind"])
def test_lone_surrogates_in_json_are_400(api: httpx.Client, body: bytes) -> None:
    _assert_json_error(api.post("/api/similar", content=body, headers=JSON), 400)


def test_lone_surrogates_and_bad_utf8_in_query_strings_are_handled(server: KbServer) -> None:
    for path in ("/api/search?q=%ED%A0%80", "/api/search?q=%FF%FE", "/api/suggest?q=%ED%A0%80",
                 "/api/articles/%ED%A0%80", "/api/search?%ED%A0%80=1"):
        resp = _raw(server, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        status = int(resp.split(b" ", 2)[1])
        assert status < 500, (path, resp[:300])


@pytest.mark.parametrize("depth", [100, 5000, 100_000])
def test_deep_json_is_400(api: httpx.Client, depth: int) -> None:
    body = b'{"text": ' + b"[" * depth + b"]" * depth + b"}"
    if len(body) < 256 * 1024:
        _assert_json_error(api.post("/api/similar", content=body, headers=JSON), 400)


def test_a_body_over_the_limit_is_refused_before_it_is_read(server: KbServer) -> None:
    """The head announces 50 MB and sends 1 KB: the answer comes at once, the server does not wait for the rest."""
    head = (b"POST /api/similar HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 52428800\r\n\r\n")
    t0 = time.monotonic()
    resp = _raw(server, head + b"{" + b" " * 1024, read_timeout=10)
    assert resp.startswith(b"HTTP/1.1 413") and b'"too_large"' in resp
    assert time.monotonic() - t0 < 8


def test_a_chunked_body_is_counted_while_it_streams(server: KbServer) -> None:
    chunk = b"x" * 65536
    data = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(6))  # 384 KB, no length announced
    head = b"POST /api/similar HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    resp = _raw(server, head + data, read_timeout=10)
    assert resp.startswith(b"HTTP/1.1 413") and b'"too_large"' in resp


@pytest.mark.parametrize("data", [b"GARBAGE\r\n\r\n", b"GET /api/health HTTP/9.9\r\n\r\n",
                                  b"GET /api/health HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
                                  b"GET / HTTP/1.1\r\nBad Header\r\n\r\n"],
                         ids=["garbage", "version", "negative-length", "header-without-colon"])
def test_protocol_errors_are_400_json(server: KbServer, data: bytes) -> None:
    resp = _raw(server, data)
    assert resp.startswith(b"HTTP/1.1 400"), resp[:200]
    assert b"application/json" in resp and b'"bad_request"' in resp


def test_an_oversized_request_head_is_431_json(server: KbServer) -> None:
    data = b"GET /api/health HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"a" * 100_000 + b"\r\n\r\n"
    resp = _raw(server, data)
    assert resp.startswith(b"HTTP/1.1 431") and b'"headers_too_large"' in resp


def test_half_a_request_head_is_timed_out(built: dict[str, Path], tmp_path: Path) -> None:
    import socket

    srv = KbServer(built["index"], None, cwd=tmp_path)
    srv.args += ["--header-timeout", "1"]
    with srv:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
            s.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            t0 = time.monotonic()
            resp = s.recv(4096)
            waited = time.monotonic() - t0
            assert s.recv(4096) == b""  # and the connection is closed
        assert resp.startswith(b"HTTP/1.1 408") and b'"request_timeout"' in resp
        assert waited < 5
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:  # silent after connecting
            assert s.recv(4096).startswith(b"HTTP/1.1 408")
        assert srv.client().get("/api/health").status_code == 200


def test_a_client_that_hangs_up_mid_request_or_response_leaves_no_traceback(built: dict[str, Path], tmp_path: Path) -> None:
    import socket

    srv = KbServer(built["index"], built["site"], cwd=tmp_path)
    with srv:
        for path in ("/api/search?q=%E9%AA%8C%E8%AF%81%E7%A0%81&limit=100", "/search-index/manifest.json", "/",
                     "/api/docs/assets/swagger-ui-bundle.js"):
            for _ in range(5):
                s = socket.create_connection(("127.0.0.1", srv.port))
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
                s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
                s.recv(100)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                s.close()  # RST while the body is still being sent
        for _ in range(3):  # and while it is still sending its request body
            s = socket.create_connection(("127.0.0.1", srv.port))
            s.sendall(b"POST /api/similar HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 1000\r\n\r\n{\"text\": ")
            time.sleep(0.2)
            s.close()
        time.sleep(0.5)
        assert srv.client().get("/api/health").status_code == 200
    log = srv.log()
    assert "Traceback" not in log and "Exception in ASGI" not in log, log


def test_wrong_method_answers_name_the_allowed_ones(api: httpx.Client, site: httpx.Client) -> None:
    assert api.delete("/api/search").headers["allow"] == "GET, HEAD"
    assert api.get("/api/similar").headers["allow"] == "POST"
    assert site.post("/index.html").headers["allow"] == "GET, HEAD"


def test_a_pasted_ticket_is_a_valid_query(api: httpx.Client) -> None:
    ticket = ("客户反馈：印尼验证码回填率只有五成，IOH 的 DLR 回执很慢，有些根本不回传。" * 60)[:4000]
    body = _search(api, q=ticket)
    assert body["total"] > 0 and body["query"] == ticket


def test_docs_are_swagger_ui_served_from_the_package(api: httpx.Client) -> None:
    page = api.get("/api/docs").text
    assert "swagger-ui-bundle.js" in page and "http://" not in page and "https://" not in page
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        r = api.get(f"/api/docs/assets/{asset}")
        assert r.status_code == 200 and len(r.content) > 10_000
    assert "openapi.json" in api.get("/api/docs/init.js").text


def test_search_as_you_type_is_not_logged(server: KbServer, built: dict[str, Path]) -> None:
    with server.client() as c:
        assert c.get("/api/search", params={"q": "子帐", "log": "false"}).status_code == 200
        assert c.get("/api/search", params={"q": "子帐号", "log": "true"}).status_code == 200
    db = sqlite3.connect(f"file:{built['root'] / 'queries.sqlite'}?mode=ro", uri=True)
    try:
        logged = {r[0] for r in db.execute("SELECT query FROM queries")}
    finally:
        db.close()
    assert "子帐号" in logged and "子帐" not in logged
