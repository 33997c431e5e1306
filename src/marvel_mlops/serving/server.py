"""The uvicorn server around the app: timeouts and limits against slow or greedy clients.

uvicorn has a keep-alive timeout and a concurrency limit but no timeout for a request's
headers: a client can open a connection and trickle (or never send) its headers. The
protocol below closes a connection whose headers are not complete ``header_timeout_s``
after it opened or after its request began. Body timeouts are the app's ``Guard``.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from marvel_mlops.serving.settings import ServingSettings


class CoalescingTransport:
    """A transport whose writes within one event-loop turn leave as one send.

    uvicorn writes a response's headers and its body separately; on a socket with
    TCP_NODELAY that is two segments and two wake-ups of the client for every response
    (the largest single cost of a one-record request in the serving profile).
    """

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))

    def writelines(self, lines) -> None:
        for data in lines:
            self.write(data)

    def flush(self) -> None:
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._pending))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending.clear()
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline on the request line and headers, and
    one send per response (``CoalescingTransport``)."""

    header_timeout_s = 10.0
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport, self.loop))
        self._arm_header_timer()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm_header_timer()

    def on_headers_complete(self) -> None:
        self._cancel_header_timer()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout_s, self._headers_late)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()


def protocol_for(settings: ServingSettings) -> type[HeaderTimeoutProtocol]:
    """The protocol class with this server's header timeout."""
    return type(
        "HeaderTimeoutProtocol",
        (HeaderTimeoutProtocol,),
        {"header_timeout_s": settings.header_timeout_s},
    )


def uvicorn_config(app: Any, settings: ServingSettings, log_level: str = "info") -> uvicorn.Config:
    """uvicorn's configuration for ``app`` with the settings' timeouts and limits."""
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        http=protocol_for(settings),
        loop="auto",
        access_log=False,
        log_level=log_level,
        lifespan="on",
        timeout_keep_alive=settings.keep_alive_timeout_s,
        limit_concurrency=settings.max_connections,
        timeout_graceful_shutdown=settings.graceful_shutdown_s,
        h11_max_incomplete_event_size=64 * 1024,
    )


def bound_registry_calls(settings: ServingSettings) -> None:
    """MLflow's HTTP retries and timeout for this process (unless set in the environment).

    MLflow's defaults (7 retries, backoff factor 2, 120 s timeout) keep a call to an
    unreachable registry busy for minutes.
    """
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", str(settings.registry_max_retries))
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(settings.registry_timeout_s))
