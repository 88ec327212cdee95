"""The live preview renders what a whole build would: after saves taken by its quick path (single pages with
the last build's navigation and templates) every page equals the page of a fresh build of the same content."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import CONTENT, KB, REPO

from kb.live import LivePreview


def _pages(site: Path) -> dict[str, str]:
    out = {}
    for p in sorted(site.rglob("*")):
        if p.suffix in (".html", ".xml") and p.is_file():
            out[p.relative_to(site).as_posix()] = p.read_text(encoding="utf-8")
    return out


def _fresh(content: Path, out: Path) -> dict[str, str]:
    subprocess.run([KB, "build", "--no-index", "--content", str(content), "--site-dir", str(out)], cwd=REPO,
                   check=True, capture_output=True)
    return _pages(out)


@pytest.fixture
def preview(tmp_path: Path) -> tuple[LivePreview, Path]:
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    lp = LivePreview(content, tmp_path / "preview", tmp_path / "index", REPO / "mkdocs.yml")
    lp.build(dirty=False)
    return lp, content


def _save(lp: LivePreview, path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, count), encoding="utf-8")
    lp._pending.add(str(path))
    lp.build(dirty=True)


def _record_quick(lp: LivePreview) -> list[bool]:
    """Which saves the quick path took (True) and which needed a whole build (False)."""
    taken: list[bool] = []
    real = lp._quick
    lp._quick = lambda root, saved: taken.append(real(root, saved)) or taken[-1]  # type: ignore[method-assign]
    return taken


def _same_as_a_fresh_build(lp: LivePreview, content: Path, tmp_path: Path) -> None:
    got, want = _pages(lp.site_dir), _fresh(content, tmp_path / "fresh")
    assert sorted(got) == sorted(want)
    differ = [name for name in want if got[name] != want[name]]
    assert differ == []


def test_body_and_metadata_saves_render_what_a_whole_build_renders(preview: tuple[LivePreview, Path],
                                                                  tmp_path: Path) -> None:
    lp, content = preview
    quick = _record_quick(lp)
    _save(lp, content / "manuals/buy-numbers.md", "# 购买号码", "# 购买号码\n\n预览里新加的一段。")
    _save(lp, content / "senderid/th-thailand.md", "lead_time_days: 7", "lead_time_days: 12")
    case = next(p for p in sorted((content / "cases").glob("case-*.md")) if "status: published" in p.read_text())
    _save(lp, case, "## 原因", "## 原因\n\n预览里补充的原因说明。")
    assert quick == [True, True, True]  # none of these needed a whole build
    assert "预览里新加的一段" in (lp.site_dir / "manuals/buy-numbers/index.html").read_text(encoding="utf-8")
    matrix = (lp.site_dir / "senderid/matrix/index.html").read_text(encoding="utf-8")
    assert re.search(r"泰国.*?<td>.*?</td><td>.*?</td><td>.*?</td><td>.*?12", matrix, re.S)
    _same_as_a_fresh_build(lp, content, tmp_path)


def test_saves_that_change_the_nav_or_publishing_take_a_whole_build(preview: tuple[LivePreview, Path],
                                                                   tmp_path: Path) -> None:
    lp, content = preview
    quick = _record_quick(lp)
    _save(lp, content / "manuals/buy-numbers.md", "购买号码", "购买与续费号码", -1)  # a new title: every nav
    _save(lp, content / "senderid/th-thailand.md", "status: published", "status: archived")  # leaves the site
    assert quick == [False, False]
    assert not (lp.site_dir / "senderid/th-thailand/index.html").exists() or \
        "泰国" not in (lp.site_dir / "senderid/matrix/index.html").read_text(encoding="utf-8")
    _same_as_a_fresh_build(lp, content, tmp_path)
