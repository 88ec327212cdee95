"""`kb build` output that other faces rely on: the site as a symlink to a version with its audience marker,
canonical links and sitemap at the configured site_url, sitemap lastmod from each article's `updated`."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import yaml
from apiserver import REPO, run_kb


def test_site_url_and_lastmod_follow_the_content(tmp_path: Path) -> None:
    content = tmp_path / "content"
    shutil.copytree(REPO / "content", content)
    with open(content / "_kb" / "config.yml", "a", encoding="utf-8") as fh:
        fh.write("\nsite_url: https://kb.example.cn/docs\n")
    site = tmp_path / "site"
    run_kb("build", "--content", str(content), "--site-dir", str(site), "--index-dir", str(tmp_path / "index"),
           "--no-index")
    assert site.is_symlink() and json.loads((site / ".kb-build.json").read_text())["audience"] == "internal"
    sitemap = (site / "sitemap.xml").read_text(encoding="utf-8")
    locs = re.findall(r"<loc>(.*?)</loc>", sitemap)
    assert locs and all(u.startswith("https://kb.example.cn/docs/") for u in locs)
    assert "127.0.0.1" not in sitemap
    page = (site / "cases" / "index.html").read_text(encoding="utf-8")
    assert '<link rel="canonical" href="https://kb.example.cn/docs/cases/">' in page
    case = "case-2025-01-indonesia-dlr-fill-rate-low"
    fm = yaml.safe_load((content / "cases" / f"{case}.md").read_text(encoding="utf-8").split("---", 2)[1])
    entry = re.search(rf"<loc>[^<]*/{case}/</loc>\s*<lastmod>([^<]+)</lastmod>", sitemap)
    assert entry and entry.group(1) == str(fm["updated"])
