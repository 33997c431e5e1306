"""The server's ASGI middleware: bearer token, body size and body deadline, request metrics."""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from typing import Any

from starlette.requests import ClientDisconnect

from marvel_mlops.serving.errors import (
    CLIENT_CLOSED,
    JSON,
    OPEN_ENDPOINTS,
    endpoint_label,
    error_body,
)
from marvel_mlops.serving.state import ServingState

logger = logging.getLogger(__name__)


class Guard:
    """Pure ASGI middleware: bearer token, body size limit, request metrics."""

    def __init__(self, app: Any, state: ServingState, token: str | None) -> None:
        self.app = app
        self.state = state
        self.token = token.encode() if token else None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        path = scope["path"]
        endpoint = endpoint_label(path)
        status = [500]

        async def send_status(message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self._guarded(scope, receive, send_status, path, endpoint)
        except ClientDisconnect:  # the client hung up mid-body: nobody got an error answer
            status[0] = CLIENT_CLOSED
            self.state.metrics.errors.labels(endpoint, "CLIENT_CLOSED_REQUEST").inc()
            logger.info("The client closed the connection before its body was read (%s)", path)
        finally:
            metrics = self.state.metrics
            metrics.requests.labels(endpoint, scope["method"], str(status[0])).inc()
            metrics.latency.labels(endpoint).observe(time.perf_counter() - started)

    async def _guarded(self, scope, receive, send, path, endpoint) -> None:
        if self.token is not None and path not in OPEN_ENDPOINTS and not self._authorised(scope):
            return await self._refuse(
                send,
                endpoint,
                401,
                "UNAUTHORIZED",
                "a valid 'Authorization: Bearer <token>' header is required",
            )
        limit = self.state.settings.max_body_bytes
        length = _content_length(scope)
        if length is not None and length > limit:
            return await self._refuse(
                send,
                endpoint,
                413,
                "PAYLOAD_TOO_LARGE",
                f"the body has {length} bytes; the limit is {limit}",
            )
        started = [False]

        async def send_started(message) -> None:
            started[0] = True
            await send(message)

        try:
            await self.app(scope, self._body_receive(receive, limit), send_started)
        except _TooLarge:
            if not started[0]:
                await self._refuse(
                    send,
                    endpoint,
                    413,
                    "PAYLOAD_TOO_LARGE",
                    f"the body exceeds the limit of {limit} bytes",
                )
        except _SlowBody:
            if not started[0]:
                timeout = self.state.settings.body_timeout_s
                await self._refuse(
                    send,
                    endpoint,
                    408,
                    "REQUEST_TIMEOUT",
                    f"no part of the body came for {timeout:g} s",
                )

    def _body_receive(self, receive, limit: int):
        """``receive`` with the body size limit and a deadline on each part of the body."""
        received, done, timeout = [0], [False], self.state.settings.body_timeout_s

        async def limited_receive():
            if done[0]:  # body complete: waiting for a disconnect is not limited
                return await receive()
            try:
                async with asyncio.timeout(timeout):
                    message = await receive()
            except TimeoutError:
                raise _SlowBody from None
            received[0] += len(message.get("body", b""))
            done[0] = not message.get("more_body", False)
            if received[0] > limit:
                raise _TooLarge
            return message

        return limited_receive

    def _authorised(self, scope) -> bool:
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, credentials = value.partition(b" ")
                return scheme.lower() == b"bearer" and hmac.compare_digest(
                    credentials.strip(), self.token
                )
        return False

    async def _refuse(self, send, endpoint, status, code, message) -> None:
        self.state.metrics.errors.labels(endpoint, code).inc()
        headers = [(b"content-type", JSON.encode())]
        if status == 401:
            headers.append((b"www-authenticate", b"Bearer"))
        if status == 408:  # the rest of the body may still come: do not read it as a request
            headers.append((b"connection", b"close"))
        body = error_body(code, message)
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


class _SlowBody(Exception):
    pass


def _content_length(scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
