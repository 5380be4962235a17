"""Translating HTTP and driver failures, once, into the product's error tree.

- 429, 503, 403 REQUEST_LIMIT_EXCEEDED -> TransientError(retry_after=Retry-After); 500/502/504/408,
  timeouts, resets after sending -> UncertainDeliveryError (a TransientError)
- 401 on an API call -> SessionExpiredError (the client re-authenticates once)
- other 4xx, validation, bad credentials -> TerminalError
- simple-salesforce: SalesforceError subclasses by status; SalesforceAuthenticationFailed ->
  terminal; SalesforceBulkV2LoadError / SalesforceOperationError -> terminal (job timeouts:
  transient).

`UncertainDeliveryError` is a TransientError raised when the request may already have been
applied (the connection broke or timed out after sending, or a gateway answered 5xx after the
backend took it): retrying is safe only for
idempotent calls, so non-idempotent ones (journey events, inserts) surface it instead.
All messages pass through `redact`.
"""

from __future__ import annotations

import json
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceOperationError,
)

from cdp.errors import CdpError, TerminalError, TransientError
from cdp.salesforce.secrets import redact


class SessionExpiredError(TerminalError):
    """HTTP 401 on an API call: the access token expired or was revoked."""


class UncertainDeliveryError(TransientError):
    """The request may or may not have been applied (broken connection after sending)."""


def retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:  # HTTP-date form
        from datetime import UTC, datetime

        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def _summary(body: Any) -> str:
    """One line from any Salesforce error body shape."""
    if isinstance(body, list) and body and isinstance(body[0], dict):
        first = body[0]
        more = f" (+{len(body) - 1} more)" if len(body) > 1 else ""
        return f"{first.get('errorCode', '')}: {first.get('message', '')}{more}"
    if isinstance(body, dict):
        if "error" in body:
            return f"{body['error']}: {body.get('error_description', '')}"
        text = f"{body.get('errorcode', '')}: {body.get('message', '')}"
        extra = body.get("additionalErrors") or body.get("validationErrors") or []
        if extra and isinstance(extra[0], dict):
            text += f" [{extra[0].get('message', '')}" + (
                f" (+{len(extra) - 1} more)]" if len(extra) > 1 else "]"
            )
        return text
    return str(body)[:300]


def _parse(content: bytes | str | Any) -> Any:
    if isinstance(content, bytes | str):
        try:
            return json.loads(content or b"null")
        except ValueError:
            return content.decode("utf-8", "replace") if isinstance(content, bytes) else content
    return content


def _codes(body: Any) -> set[str]:
    items = body if isinstance(body, list) else [body]
    return {str(i.get("errorCode")) for i in items if isinstance(i, dict) and i.get("errorCode")}


def from_status(status: int, body: Any, what: str, retry_after: str | None = None) -> CdpError:
    parsed = _parse(body)
    message = redact(f"{what}: HTTP {status} {_summary(parsed)}".strip())[:800]
    # Salesforce core refuses with 403 REQUEST_LIMIT_EXCEEDED when the org is out of its daily
    # API allocation or at its concurrent-request limit (facts 3.7): both clear by themselves.
    if status == 429 or (status == 403 and "REQUEST_LIMIT_EXCEEDED" in _codes(parsed)):
        return TransientError(message, retry_after=retry_after_seconds(retry_after))
    if status in (500, 502, 504, 408):
        # The server (or a gateway in front of it) may have applied the request before failing:
        # retried only when idempotent (`http.retry`); 503 and 429 refuse before processing.
        return UncertainDeliveryError(message, retry_after=retry_after_seconds(retry_after))
    if status >= 500:
        return TransientError(message, retry_after=retry_after_seconds(retry_after))
    if status == 401:
        return SessionExpiredError(message)
    return TerminalError(message)


def from_response(response: requests.Response, what: str) -> CdpError:
    return from_status(
        response.status_code, response.content, what, response.headers.get("Retry-After")
    )


def _connection_phase(err: requests.ConnectionError) -> bool:
    """True when the failure happened while connecting (so nothing was sent)."""
    if isinstance(err, requests.ConnectTimeout):
        return True
    text = repr(err)
    return any(
        s in text for s in ("NewConnectionError", "ConnectionRefusedError", "NameResolutionError")
    )


def translate(err: BaseException, what: str) -> CdpError:
    """Any exception from requests or simple-salesforce -> CdpError (CdpErrors pass through)."""
    if isinstance(err, CdpError):
        return err
    if isinstance(err, SalesforceAuthenticationFailed):
        return TerminalError(redact(f"{what}: authentication failed: {err.message}"))
    if isinstance(err, SalesforceExpiredSession):
        return SessionExpiredError(redact(f"{what}: session expired or invalid"))
    if isinstance(err, SalesforceError):
        return from_status(err.status, err.content, what)
    if isinstance(err, SalesforceOperationError):
        text = redact(f"{what}: {err}")[:800]
        return TransientError(text) if "Job timeout" in text else TerminalError(text)
    if isinstance(err, requests.exceptions.SSLError):  # an untrusted certificate stays untrusted
        return TerminalError(redact(f"{what}: TLS verification failed (check ca_bundle)"))
    if isinstance(err, requests.ConnectionError):
        if _connection_phase(err):
            return TransientError(redact(f"{what}: cannot connect: {type(err).__name__}"))
        return UncertainDeliveryError(redact(f"{what}: connection lost: {type(err).__name__}"))
    if isinstance(err, requests.Timeout):  # ReadTimeout: the server may have acted
        return UncertainDeliveryError(redact(f"{what}: timed out waiting for a response"))
    if isinstance(err, requests.RequestException):
        return TerminalError(redact(f"{what}: {type(err).__name__}: {err}"))
    return TerminalError(redact(f"{what}: unexpected {type(err).__name__}: {err}"))
