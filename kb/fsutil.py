"""Atomic file-system updates shared by the index, the static index and the site build.

The site directory is a symlink to a versioned directory: `site -> .site-versions/<id>`. A build writes into
`.site.new-<pid>`, moves it to `.site-versions/<id>` and switches the symlink with one rename, so a reader (or a
crash) sees the old site or the new one, never none. The next build removes what killed builds left behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

#: written into each site version by `kb build`: {"audience": "internal" | "public", "built_at": ...}
SITE_BUILD_FILE = ".kb-build.json"
#: site versions kept: the live one and the one before it
KEEP_SITE_VERSIONS = 2


def write_atomic(path: Path, data: str, mode: int | None = None) -> None:
    """Write text to a temporary sibling, then rename it over `path`: readers see old or new, never half.
    `mode` (e.g. 0o600 for files only their owner may read) is set before any byte is written."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    if mode is None:
        tmp.write_text(data, encoding="utf-8")
    else:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        os.fchmod(fd, mode)  # O_CREAT's mode is cut by the umask; an existing tmp keeps its own
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(data)
    os.replace(tmp, path)


def swap_dir(new: Path, dst: Path) -> None:
    """Replace directory `dst` by `new` with two renames; the old tree is removed afterwards."""
    old = dst.with_name(f".{dst.name}.old-{os.getpid()}")
    if dst.exists():
        os.replace(dst, old)
    os.replace(new, dst)
    shutil.rmtree(old, ignore_errors=True)


# -- the site: a symlink to a version ---------------------------------------------------------------------

def site_versions_dir(site: Path) -> Path:
    return site.with_name(f".{site.name}-versions")


def site_staging_dir(site: Path) -> Path:
    """Where this process builds the next site version (a sibling, so moving it is a rename)."""
    return site.with_name(f".{site.name}.new-{os.getpid()}")


@contextlib.contextmanager
def site_lock(site: Path) -> Iterator[None]:
    """One build of a site at a time; under the lock every leftover belongs to a build that is gone."""
    site.parent.mkdir(parents=True, exist_ok=True)
    with open(site.with_name(f".{site.name}.lock"), "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def clean_site_leftovers(site: Path) -> list[Path]:
    """Remove staging and old trees of killed builds and versions other than the live one and the one before.
    Call under `site_lock`. Returns what was removed."""
    removed: list[Path] = []
    mine = site_staging_dir(site).name
    for p in site.parent.glob(f".{site.name}.*"):
        if (p.name.startswith((f".{site.name}.new-", f".{site.name}.old-", f".{site.name}.link-"))
                and p.name != mine):
            _remove(p)
            removed.append(p)
    versions = site_versions_dir(site)
    if versions.is_dir():
        live = os.path.realpath(site) if site.is_symlink() else ""
        others = sorted((v for v in versions.iterdir() if os.path.realpath(v) != live), key=lambda v: v.name)
        for v in others[:-(KEEP_SITE_VERSIONS - 1) or None]:  # the live one and the newest other stay
            _remove(v)
            removed.append(v)
    return removed


def publish_site(built: Path, site: Path) -> Path:
    """Make the finished tree `built` the live site: move it into the versions directory, then point `site` at it
    with one rename of a new symlink over the old one. Call under `site_lock`. Returns the version directory."""
    versions = site_versions_dir(site)
    versions.mkdir(exist_ok=True)
    version = versions / f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}-{os.getpid()}"
    os.rename(built, version)
    if site.exists() and not site.is_symlink():
        # a site of the old layout (a real directory): it becomes a version; the only moment without a site
        os.rename(site, versions / f"00000000T000000000000-legacy-{os.getpid()}")
    link = site.with_name(f".{site.name}.link-{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        link.unlink()
    link.symlink_to(os.path.relpath(version, site.parent), target_is_directory=True)
    os.replace(link, site)
    return version


def _remove(p: Path) -> None:
    if p.is_symlink() or p.is_file():
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
    else:
        shutil.rmtree(p, ignore_errors=True)


@lru_cache(maxsize=8)
def _audience_of(real_site: str, mtime_ns: int) -> str:
    try:
        value = json.loads(Path(real_site, SITE_BUILD_FILE).read_text(encoding="utf-8")).get("audience")
    except (OSError, ValueError, AttributeError):
        return "internal"
    return value if value == "public" else "internal"  # fail closed


def site_audience(site: Path) -> str:
    """The audience the site at `site` was built for; anything unknown (no marker) counts as internal."""
    real = os.path.realpath(site)
    try:
        mtime = os.stat(os.path.join(real, SITE_BUILD_FILE)).st_mtime_ns
    except OSError:
        return "internal"
    return _audience_of(real, mtime)
