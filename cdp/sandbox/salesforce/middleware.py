"""ASGI middleware in front of every route: applies the fault plan and logs each request.

Faults are answered in the surface's own error shape (Salesforce core: JSON array;
Marketing Cloud: flat object). A "drop" aborts the TCP/TLS connection without a response,
which clients see as a connection reset.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cdp.sandbox.salesforce.faults import Fault, FaultPlan
from cdp.sandbox.salesforce.responses import MC_DOC
from cdp.sandbox.salesforce.state import EmulatorState, LoggedRequest

# Core answers an exhausted API allocation with 403 REQUEST_LIMIT_EXCEEDED (facts 3.7).
_REASONS = {
    403: "REQUEST_LIMIT_EXCEEDED",
    429: "REQUEST_LIMIT_EXCEEDED",
    500: "UNKNOWN_EXCEPTION",
    503: "SERVER_UNAVAILABLE",
}
_CORE_MESSAGES = {
    403: "TotalRequests Limit exceeded.",
    429: "ConcurrentPerOrgLongTxn Limit exceeded.",
}


def _fault_body(path: str, fault: Fault) -> Any:
    if path.startswith("/mc-"):
        message = "Too many requests" if fault.status == 429 else "Service unavailable (injected)"
        return {"message": message, "errorcode": fault.status, "documentation": MC_DOC}
    message = _CORE_MESSAGES.get(fault.status, "injected server error")
    return [
        {
            "message": message,
            "errorCode": _REASONS.get(fault.status, "UNKNOWN_EXCEPTION"),
            "fields": [],
        }
    ]


class FaultMiddleware:
    def __init__(self, app: ASGIApp, state: EmulatorState, faults: FaultPlan):
        self.app, self.state, self.faults = app, state, faults

    def _log(self, scope: Scope, status: int, label: str | None) -> None:
        with self.state.lock:
            self.state.request_log.append(
                LoggedRequest(scope["method"], scope["path"], status, label, time.time())
            )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        fired = self.faults.pick(scope["method"], scope["path"])
        label = ",".join(f.label() for f in fired) or None
        for fault in fired:
            if fault.kind == "delay":
                await asyncio.sleep(fault.seconds)
            elif fault.kind == "expire_tokens":
                self.state.expire_tokens()
        for fault in fired:
            if fault.kind == "drop":
                self._log(scope, 0, label)
                transport = getattr(getattr(send, "__self__", None), "transport", None)
                if transport is None:  # not under uvicorn's h11 cycle: fail loudly instead
                    raise ConnectionAbortedError("drop fault needs uvicorn's transport")
                transport.abort()
                await asyncio.sleep(0.01)  # let uvicorn see the disconnect before we return
                return
            if fault.kind == "status":
                # Logged before answering: once the client has the answer it may retry at once,
                # and the log must keep the order the requests were served in.
                self._log(scope, fault.status, label)
                await self._respond(scope, send, fault)
                return
        logged = False

        async def capture(message: Message) -> None:
            # Logged as the answer starts, like a fault: once the client has it, it may look at
            # the log (or retry) at once, before this coroutine runs again.
            nonlocal logged
            if message["type"] == "http.response.start" and not logged:
                self._log(scope, message["status"], label)
                logged = True
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            if not logged:  # no answer was started
                self._log(scope, 0, label)

    async def _respond(self, scope: Scope, send: Send, fault: Fault) -> None:
        body = json.dumps(_fault_body(scope["path"], fault)).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        if fault.retry_after is not None:
            headers.append((b"retry-after", f"{fault.retry_after:g}".encode()))
        await send({"type": "http.response.start", "status": fault.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
