"""The leak matrix as a table: which variant the public may not see shows up in which output of a public build.

Builds the content root of tests/test_leaks.py (every variant, the ones kb check refuses too, so the build
runs with the checks off and only the publishing rule protects), then looks at every output: pages, generated
pages, 404, sitemap, the static index files and its JS runtime under node, files a build copied, the server
index (stored documents, suggestions, metadata), files.json and the API without a token. Prints a Markdown
table (variant x output: LEAK or ·) and writes bench-results/leak-matrix.json. Run it on two commits to get
a before/after table:  .venv/bin/python scripts/leak_matrix.py [--label NAME]
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from apiserver import KbServer  # noqa: E402
from test_leaks import _title, hidden_markers, make_root  # noqa: E402

GENERATED = ("tags/", "senderid/matrix/", "cases/by-category/", "cases/by-month/", "reports/")
OUTPUTS = ("pages", "generated pages", "404", "sitemap", "static index files", "static runtime (node)",
           "copied files", "server index docs", "server index files", "files.json", "API (no token)")


def _output_of(rel: str) -> str:
    if rel == "404.html":
        return "404"
    if rel.startswith("sitemap.xml"):
        return "sitemap"
    if rel.startswith("search-index/"):
        return "static index files"
    if rel.endswith(".html"):
        return "generated pages" if rel.startswith(GENERATED) else "pages"
    return "copied files"


def build(base: Path) -> tuple[Path, Path, Path]:
    from mkdocs.commands.build import build as mkdocs_build

    from kb.commands.build import load_site_config
    from kb.commands.search import build_from_content

    content = make_root(base, invalid=True)
    site, index = base / "site", base / "index"
    mkdocs_build(load_site_config(REPO / "mkdocs.yml", content, site, "public", checks=False))
    build_from_content(str(content), index, "public")
    return content, site, index


def matrix(site: Path, index: Path, work: Path) -> dict[str, dict[str, bool]]:
    markers = hidden_markers(True)
    out = {v: dict.fromkeys(OUTPUTS, False) for v in markers}
    for p in sorted(site.rglob("*")):
        if not p.is_file():
            continue
        data = p.read_bytes()
        data = gzip.decompress(data) if p.suffix == ".gz" else data
        where = _output_of(p.relative_to(site).as_posix())
        for v, m in markers.items():
            if m.encode() in data:
                out[v][where] = True
    for p in sorted(index.rglob("*")):
        if p.is_file():
            data = p.read_bytes()
            where = "files.json" if p.name == "files.json" else "server index files"
            for v, m in markers.items():
                if m.encode() in data:
                    out[v][where] = True
    from kb.search import Searcher

    s = Searcher(index)
    docs = [s.get(h.id, include_internal=True) or {}
            for h in s.search("", limit=1000, include_internal=True, facets=False, snippets=False).hits]
    blob = json.dumps(docs, ensure_ascii=False)
    ids = variant_ids()
    for v, m in markers.items():
        out[v]["server index docs"] = m in blob or ids.get(v) in {d.get("id") for d in docs}
    node = shutil.which("node")
    if node:
        queries = [{"q": q, "limit": 50} for m in markers.values() for q in (m, _title(m))]
        res = json.loads(subprocess.run([node, str(REPO / "tests/js/run_queries.mjs"), str(site / "search-index")],
                                        input=json.dumps(queries), capture_output=True, text=True,
                                        check=True).stdout)
        found = {aid for r in res for aid in r["ids"]}
        snippets = " ".join(x for r in res for x in r["snippets"])
        for v, m in markers.items():
            out[v]["static runtime (node)"] = ids.get(v) in found or m in snippets
    with KbServer(index, site, cwd=work) as srv, srv.client() as c:
        for v, m in markers.items():
            leaked = False
            for q in (m, _title(m)):
                r = c.get("/api/search", params={"q": q}).json()
                leaked |= m in json.dumps({k: x for k, x in r.items() if k != "query"}, ensure_ascii=False)
                sug = c.get("/api/suggest", params={"q": q[:6]}).json()
                leaked |= m in json.dumps(sug.get("suggestions", []), ensure_ascii=False)
            aid = variant_ids().get(v)
            if aid:
                leaked |= c.get(f"/api/articles/{aid}").status_code == 200
            out[v]["API (no token)"] = leaked
    return out


def variant_ids() -> dict[str, str]:
    """variant -> the id of its article (file variants have none)."""
    from test_leaks import ARTICLES, INVALID, link_forms

    out = {v: Path(rel).stem for v, (rel, _, _, _) in {**ARTICLES, **INVALID}.items()}
    out.update({v: Path(rel).stem for v, (rel, _, _) in link_forms(True).items()})
    return {**out, "symlink_file": "escape", "symlink_dir": "leak"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--label", default="current")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="kb-leaks-") as tmp:
        base = Path(tmp)
        _, site, index = build(base)
        table = matrix(site, index, base)
    cols = list(OUTPUTS)
    print(f"\n### leak matrix ({args.label})\n")
    print("| variant | " + " | ".join(cols) + " |")
    print("|---|" + "---|" * len(cols))
    for v, row in table.items():
        print(f"| {v} | " + " | ".join("LEAK" if row[c] else "·" for c in cols) + " |")
    leaks = sum(x for row in table.values() for x in row.values())
    print(f"\n{leaks} leaking (variant, output) pairs")
    out = REPO / "bench-results" / f"leak-matrix-{args.label}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"label": args.label, "matrix": table, "leaks": leaks}, ensure_ascii=False, indent=1),
                   encoding="utf-8")


if __name__ == "__main__":
    main()
