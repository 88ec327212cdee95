"""Faults: killed builds, damaged and corrupt indexes under a running server, the atomic site switch.

Real `kb build` / `kb index` processes killed with SIGKILL at several points, real `kb serve` processes
reading what they leave behind.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from apiserver import KB, REPO, KbServer, build_site, run_kb

from kb.fsutil import clean_site_leftovers, publish_site, site_versions_dir

TOKEN = "fault-trials-token"


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("faults")
    content, site, index = build_site(REPO / "content", root)
    return {"root": root, "content": content, "site": site, "index": index}


def _copy_index(good: dict[str, Path], dst: Path) -> Path:
    shutil.copytree(good["index"], dst, symlinks=True)
    return dst


def _version(index: Path) -> Path:
    return index / (index / "CURRENT").read_text(encoding="utf-8").strip()


def _healthy(c: httpx.Client) -> dict[str, object]:
    r = c.get("/api/health")
    assert r.status_code == 200, r.text
    body = c.get("/api/search", params={"q": "印尼 回填率", "limit": 100})
    assert body.status_code == 200 and body.json()["hits"], body.text
    return r.json()


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "KB_API_TOKEN"}


# --- damaged and corrupt indexes ---------------------------------------------------------------------

def test_truncating_the_live_index_under_a_running_server_does_not_crash_it(good: dict[str, Path],
                                                                            tmp_path: Path) -> None:
    """Tantivy memory-maps its files: truncating one under a reader used to kill `kb serve` with SIGBUS."""
    index = _copy_index(good, tmp_path / "index")
    with KbServer(index, None, cwd=tmp_path) as srv, srv.client() as c:
        before = _healthy(c)
        for f in [*_version(index).glob("*.store"), *_version(index).glob("*.term"),
                  *_version(index / "public").glob("*.store")]:
            with open(f, "r+b") as fh:
                fh.truncate(f.stat().st_size // 3)
        for q in ("短信", "验证码", "DELIVRD", "余额"):
            assert c.get("/api/search", params={"q": q, "limit": 100}).status_code == 200
        (_version(index) / "kb-index.json").touch()  # looks like an in-place update: the damaged copy is refused
        time.sleep(1.0)
        assert _healthy(c)["built_at"] == before["built_at"]
        assert srv.proc is not None and srv.proc.poll() is None
    assert "无法使用" in srv.log() and "Traceback" not in srv.log()


def test_a_corrupt_new_version_keeps_the_last_good_one(good: dict[str, Path], tmp_path: Path) -> None:
    index = _copy_index(good, tmp_path / "index")
    with KbServer(index, None, token=TOKEN, cwd=tmp_path) as srv, srv.client(TOKEN) as c:
        before = _healthy(c)
        bad = index / "v-29991231T000000000000-1"
        shutil.copytree(_version(index), bad)
        term = next(bad.glob("*.term"))
        data = bytearray(term.read_bytes())
        data[len(data) // 2] ^= 0xFF  # one flipped byte: the file's CRC no longer matches
        term.write_bytes(bytes(data))
        (index / "CURRENT").write_text(bad.name, encoding="utf-8")
        time.sleep(1.0)
        assert _healthy(c)["built_at"] == before["built_at"]
        time.sleep(1.1)
        run_kb("index", "--content", str(good["content"]), "--index-dir", str(index))  # a good one follows
        deadline = time.monotonic() + 5
        while _healthy(c)["built_at"] == before["built_at"] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _healthy(c)["built_at"] != before["built_at"]
    assert "校验和不符" in srv.log()


def test_a_server_with_no_good_index_answers_503_json(good: dict[str, Path], tmp_path: Path) -> None:
    index = _copy_index(good, tmp_path / "index")
    shutil.rmtree(index / "public")
    for f in _version(index).glob("*.idx"):
        f.write_bytes(b"\0" * 10)
    srv = KbServer(index, None, cwd=tmp_path)
    with open(srv.log_path, "wb") as log:
        srv.proc = subprocess.Popen(srv.args, cwd=tmp_path, env=_env(), stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        r = None
        while time.monotonic() < deadline:
            try:
                r = httpx.get(f"{srv.url}/api/health", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert r is not None and r.status_code == 503
        assert r.json()["error"]["code"] == "index_unavailable"
        r = httpx.get(f"{srv.url}/api/search", params={"q": "印尼"})
        assert r.status_code == 503 and r.headers["content-type"] == "application/json"
    finally:
        srv.stop()


# --- kill -9 trials -------------------------------------------------------------------------------------

def _kill_after(args: list[str], delay: float) -> int | None:
    proc = subprocess.Popen([KB, *args], cwd=REPO, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proc.wait(timeout=delay)
        return proc.returncode  # finished before the kill
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        return None


def test_kill_9_during_kb_build_leaves_the_last_good_site_and_index(good: dict[str, Path], tmp_path: Path) -> None:
    content, site, index = tmp_path / "content", tmp_path / "site", tmp_path / "index"
    shutil.copytree(good["content"], content)
    args = ["build", "--content", str(content), "--site-dir", str(site), "--index-dir", str(index)]
    run_kb(*args)
    t0 = time.monotonic()
    run_kb(*args)  # a second full build, timed: the kills land at fractions of it, on a fast or a slow machine
    took = time.monotonic() - t0
    with KbServer(index, site, cwd=tmp_path) as srv, srv.client() as c:
        killed = 0
        for frac in (0.02, 0.6, 0.75, 0.85, 0.92, 0.15, 0.35):  # the late ones land inside MkDocs and the switch
            if _kill_after(args, frac * took) is None:
                killed += 1
            assert site.is_symlink() and (site / "index.html").is_file(), frac
            page = c.get("/")
            assert page.status_code == 200 and "kb-api" in page.text, frac
            _healthy(c)
        assert killed >= 4
        (tmp_path / ".site.new-999999").mkdir()  # as a build killed between its first and second step leaves
        (tmp_path / ".site.link-999999").symlink_to(site_versions_dir(site))
        run_kb(*args)
        assert [p.name for p in tmp_path.glob(".site.*") if not p.name.endswith(".lock")] == []
        assert len(list(site_versions_dir(site).iterdir())) <= 2
        assert c.get("/").status_code == 200
        _healthy(c)


def test_kill_9_during_kb_index_leaves_the_last_good_index(good: dict[str, Path], tmp_path: Path) -> None:
    index = _copy_index(good, tmp_path / "index")
    args = ["index", "--content", str(good["content"]), "--index-dir", str(index)]
    with KbServer(index, None, token=TOKEN, cwd=tmp_path) as srv, srv.client(TOKEN) as c:
        for delay in (0.2, 0.5, 0.9, 1.4, 2.0, 3.0):
            _kill_after(args, delay)
            _healthy(c)
            assert (_version(index) / "kb-index.json").is_file()
        for v in index.glob("v-*"):  # kb/index.py leaves other versions a grace period for readers
            os.utime(v, (time.time() - 3600, time.time() - 3600))
        run_kb(*args)
        assert len(list(index.glob("v-*"))) == 1  # the killed builds' version directories are gone
        _healthy(c)


# --- the site switch itself -------------------------------------------------------------------------------

def test_a_site_of_the_old_layout_becomes_a_symlink_to_a_version(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("old", encoding="utf-8")
    for n in range(3):
        new = tmp_path / f".site.new-{n}"
        new.mkdir()
        (new / "index.html").write_text(f"new {n}", encoding="utf-8")
        publish_site(new, site)
        assert site.is_symlink() and (site / "index.html").read_text(encoding="utf-8") == f"new {n}"
    (tmp_path / ".site.new-424242").mkdir()  # a killed build's tree
    (tmp_path / ".site.old-424242").mkdir()
    removed = {p.name for p in clean_site_leftovers(site)}
    assert {".site.new-424242", ".site.old-424242"} <= removed
    versions = sorted(p.name for p in site_versions_dir(site).iterdir())
    assert len(versions) == 2 and os.path.realpath(site).endswith(versions[-1])
