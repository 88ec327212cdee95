"""Settings of one `kb serve`: a typed object built once (from the CLI options and `KB_API_TOKEN`) and
passed to the app factory, so nothing inside the app reads the environment."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

#: addresses that only this machine can reach
LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost; a wildcard such as 0.0.0.0 or :: is not loopback."""
    host = host.strip("[]")
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ApiSettings:
    index_dir: Path = Path(".kb/index")
    site_dir: Path | None = Path("site")
    #: KB_API_TOKEN: with it, internal pages and internal answers need the token (bearer or login cookie)
    token: str | None = None
    #: the address `kb serve` binds; loopback-only serving may show an internal site without a token
    host: str = "127.0.0.1"
    cors_origins: tuple[str, ...] = ()
    analytics_path: Path | None = None
    analytics_retention_days: int = 180
    analytics_client_ip: bool = False
    #: encoded search answers kept per worker, in entries and in bytes
    cache_entries: int = 2048
    cache_bytes: int = 64 * 1024 * 1024
    #: how often the server looks for a swapped or updated index, in seconds
    reload_interval: float = 0.25
    #: extra HTML put before </head> of every served page (the live preview's reload script)
    head_extra: str = ""
    #: a client that has not sent its request head within this many seconds is disconnected
    header_timeout: float = 10.0

    @property
    def loopback_only(self) -> bool:
        return is_loopback(self.host)
