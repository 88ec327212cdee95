"""Running the app under uvicorn: the HTTP protocol kb uses (httptools, plus a request-head deadline, a bound
on the head's size and JSON for protocol errors) and the one- or several-worker start.

uvicorn only times out idle keep-alive connections: a client that connects and sends half a request head
would hold a connection (and its memory) forever. `KbHttpProtocol` gives every request head `header_timeout`
seconds from its first byte (or from the connection) and refuses heads larger than `MAX_HEAD_BYTES`.
"""

from __future__ import annotations

import asyncio
import functools
import socket
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from kb.api.errors import error_body
from kb.api.settings import ApiSettings

#: request line plus headers; real browsers send 1-8 KB
MAX_HEAD_BYTES = 64 * 1024
_REASONS = {400: b"Bad Request", 408: b"Request Timeout", 431: b"Request Header Fields Too Large"}


class KbHttpProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, header_timeout: float = 10.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_bytes = 0

    # -- the request-head deadline ------------------------------------------------------------------
    def _arm(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
            self._send_error(408, "request_timeout", f"请求头 {self.header_timeout:g} 秒内没有发送完整")

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        self._head_bytes = 0
        self._arm()
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def _count(self, n: int) -> None:
        self._head_bytes += n
        if self._head_bytes > MAX_HEAD_BYTES:
            self._send_error(431, "headers_too_large", f"请求头最大 {MAX_HEAD_BYTES} 字节")
            raise _HeadTooLarge  # httptools stops parsing; the 400 it would send finds the connection closed

    # -- protocol errors as JSON ----------------------------------------------------------------------
    def send_400_response(self, msg: str) -> None:
        self._send_error(400, "bad_request", "无效的 HTTP 请求")

    def _send_error(self, status: int, code: str, message: str) -> None:
        self._disarm()
        if self.transport.is_closing():
            return
        body = error_body(code, message)
        head = (b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n"
                % (status, _REASONS.get(status, b"Error"), len(body)))
        self.transport.write(head + body)
        self.transport.close()


class _HeadTooLarge(Exception):
    pass


def _config(settings: ApiSettings, port: int, workers: int, log_level: str, **kw: Any) -> uvicorn.Config:
    from kb.api.app import create_app

    return uvicorn.Config(functools.partial(create_app, settings, **kw), factory=True, host=settings.host, port=port,
                          workers=workers, log_level=log_level,
                          http=functools.partial(KbHttpProtocol, header_timeout=settings.header_timeout))  # type: ignore[arg-type]


def run(settings: ApiSettings, port: int, workers: int = 1, log_level: str = "warning", **kw: Any) -> None:
    """Serve until interrupted. Several workers share one listening socket made with proto=IPPROTO_TCP, so
    asyncio sets TCP_NODELAY on accepted connections (uvicorn's own bind uses proto=0, which adds ~40 ms of
    delayed-ACK wait to keep-alive responses; uvicorn issue #3149)."""
    config = _config(settings, port, workers, log_level, **kw)
    if workers <= 1:
        uvicorn.Server(config).run()
        return
    from uvicorn.supervisors import Multiprocess

    host = settings.host
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    Multiprocess(config, sockets=[sock]).run()
