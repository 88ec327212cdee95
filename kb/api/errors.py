"""API errors as values: one exception type, one JSON shape `{"error": {"code", "message"}}` for every
4xx/5xx, and the Starlette exception handlers that turn anything raised into that shape (never a trace)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

log = logging.getLogger("kb.api")

#: the error code for a status Starlette raises by itself
HTTP_CODES = {400: "bad_request", 401: "invalid_token", 404: "not_found", 405: "method_not_allowed",
              408: "request_timeout", 413: "too_large", 431: "headers_too_large", 503: "index_unavailable"}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = dict(headers or {})


def error_body(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}, ensure_ascii=False).encode("utf-8")


def error_response(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return Response(error_body(code, message), status_code=status, headers=dict(headers or {}),
                    media_type="application/json")


async def handle_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, exc.headers)


async def handle_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = HTTP_CODES.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail), exc.headers)


async def handle_disconnect(request: Request, exc: Exception) -> Response:
    """The client hung up while sending its request: nobody reads the answer, and it is not our error."""
    log.debug("client disconnected during %s %s", request.method, request.url.path)
    return error_response(400, "client_disconnected", "客户端在请求发送完之前断开了连接")


async def handle_any(request: Request, exc: Exception) -> Response:
    log.exception("internal error on %s", request.url.path)
    return error_response(500, "internal_error", "服务内部错误，已记录日志")


EXCEPTION_HANDLERS = {ApiError: handle_api_error, HTTPException: handle_http_error, ClientDisconnect: handle_disconnect,
                      Exception: handle_any}
