"""Real `kb build` fixtures and real `kb serve` processes on a free loopback port, for tests and benchmarks.

No in-process app: the servers are the same command users run, started as subprocesses and stopped at the end.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import httpx

REPO = Path(__file__).resolve().parent.parent
KB = str(Path(sys.executable).with_name("kb"))
HOST = "127.0.0.1"


def free_port() -> int:
    """A port nobody listens on right now (bind to port 0 and let the kernel choose)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def run_kb(*args: str, cwd: Path = REPO, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run the real CLI; fail loudly with its output when it exits non-zero."""
    proc = subprocess.run([KB, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={k: v for k, v in os.environ.items() if k != "KB_API_TOKEN"})
    if proc.returncode != 0:
        raise RuntimeError(f"kb {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def build_site(content_src: Path, root: Path) -> tuple[Path, Path, Path]:
    """Copy content_src to root/content and `kb build` it; returns (content, site, index)."""
    content, site, index = root / "content", root / "site", root / "index"
    shutil.copytree(content_src, content)
    run_kb("build", "--content", str(content), "--site-dir", str(site), "--index-dir", str(index))
    return content, site, index


class KbServer:
    """`kb serve` as a subprocess on a free port; a context manager that waits for /api/health."""

    def __init__(self, index_dir: Path, site_dir: Path | None = None, *, token: str | None = None,
                 cors: Sequence[str] = (), analytics: Path | None = None, workers: int = 1,
                 cwd: Path | None = None, log_path: Path | None = None) -> None:
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.token = token
        self.cwd = cwd or index_dir.parent
        self.log_path = log_path or self.cwd / f"serve-{self.port}.log"
        self.args = [KB, "serve", "--host", HOST, "--port", str(self.port), "--index-dir", str(index_dir),
                     "--site-dir", str(site_dir or self.cwd / "no-site"), "--workers", str(workers),
                     "--analytics", str(analytics) if analytics else ""]
        for origin in cors:
            self.args += ["--cors", origin]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> KbServer:
        env = {k: v for k, v in os.environ.items() if k != "KB_API_TOKEN"}
        if self.token is not None:
            env["KB_API_TOKEN"] = self.token
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(self.args, cwd=self.cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"kb serve exited {self.proc.returncode}:\n{self.log()}")
            try:
                r = httpx.get(f"{self.url}/api/health", timeout=2)
                if r.status_code == 200:
                    return self
                last = f"{r.status_code} {r.text[:300]}"
            except httpx.TransportError as e:
                last = repr(e)
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"kb serve /api/health not 200 within {timeout} s (last: {last}):\n{self.log()}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=15)

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-4000:]
        except OSError:
            return ""

    def client(self, token: str | None = None, **kw: object) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, **kw)  # type: ignore[arg-type]

    def __enter__(self) -> KbServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
