"""Marketing Cloud (Engagement) REST client: data extension rows and Journey API events.

    mc = MarketingCloudClient(settings)
    request_id = mc.upsert_rows_async(de_key, rows)         # PUT  /data/v1/async/.../rows, <=32,000
    request_id = mc.insert_rows_async(de_key, rows)         # POST (not retried once sent)
    results = mc.wait_for_request(request_id, rows=n)       # -> list[RowResult], one per row
    mc.upsert_rowset(de_key, rows, primary_keys=[...])      # sync, 50 rows per call
    mc.delete_rows(de_key, [{"pk": value}, ...])            # one DELETE per row [derived path]
    mc.fire_event(event_key, contact_key, data)             # -> eventInstanceId (not retried once sent)
    mc.fire_events_batch(event_key, members)                # <=100 -> BatchEventResult

The access token is cached until shortly before `expires_in` runs out and renewed once on a
401; the REST base URL is the token response's `rest_instance_url`. Rows are dicts of
column -> value; dates/datetimes are sent as ISO 8601.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

import requests

from cdp.errors import TerminalError, TransientError
from cdp.salesforce.errors import SessionExpiredError, UncertainDeliveryError
from cdp.salesforce.http import RetryPolicy, make_session, retry, send
from cdp.salesforce.secrets import REDACTOR, logger, secret_from_env
from cdp.salesforce.settings import SalesforceSettings

ASYNC_LIMIT = 32_000
ROWSET_LIMIT = 50
JOURNEY_BATCH_LIMIT = 100
Row = Mapping[str, Any]


@dataclass(frozen=True)
class RowResult:
    """Outcome of one submitted row, by position ([derived]: results come back in order)."""

    index: int
    ok: bool
    status: str
    error_code: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class AsyncStatus:
    request_id: str
    request_status: str  # Pending | Complete (or Completed) | Error
    result_status: str | None
    has_errors: bool

    @property
    def done(self) -> bool:
        return self.request_status.lower() in ("complete", "completed", "error")


@dataclass(frozen=True)
class EventMember:
    contact_key: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EventMemberResult:
    contact_key: str
    queued: bool
    event_instance_id: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class BatchEventResult:
    request_id: str
    members: list[EventMemberResult]

    @property
    def not_queued(self) -> list[EventMemberResult]:
        return [m for m in self.members if not m.queued]


@dataclass
class _Token:
    access_token: str = field(repr=False)
    rest_url: str
    renew_at: float


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot send {type(value).__name__} to Marketing Cloud")


class MarketingCloudClient:
    def __init__(
        self,
        settings: SalesforceSettings,
        *,
        session: requests.Session | None = None,
        policy: RetryPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        poll_sleep: Callable[[float], None] = time.sleep,
    ):
        self.settings = settings
        self.session = session or make_session(settings)
        self.policy = policy or RetryPolicy.from_settings(settings)
        self._clock, self._poll_sleep = clock, poll_sleep
        self._token: _Token | None = None
        self._lock = threading.Lock()

    # ---- auth ----------------------------------------------------------------------------
    def _fetch_token(self) -> _Token:
        mc = self.settings.marketing_cloud
        body: dict[str, Any] = {
            "grant_type": "client_credentials",
            "client_id": secret_from_env(mc.client_id_env),
            "client_secret": secret_from_env(mc.client_secret_env),
        }
        if mc.account_id:
            body["account_id"] = mc.account_id
        url = f"{self.settings.mc_auth_url}v2/token"
        try:
            reply = send(self.session, "POST", url, what="Marketing Cloud token", json=body).json()
        except UncertainDeliveryError as err:  # a token grant changes nothing: safe to retry
            raise TransientError(str(err)) from None
        REDACTOR.add(reply.get("access_token"))
        expires_in = float(reply.get("expires_in", 1200))
        margin = min(
            mc.refresh_margin_seconds, expires_in / 4
        )  # short test tokens still get reused
        return _Token(
            reply["access_token"],
            reply["rest_instance_url"].rstrip("/") + "/",
            self._clock() + expires_in - margin,
        )

    def _current(self, stale: _Token | None = None) -> _Token:
        with self._lock:
            if self._token is None or self._token is stale or self._clock() >= self._token.renew_at:
                self._token = retry(self._fetch_token, self.policy, what="Marketing Cloud token")
            return self._token

    def _request(
        self,
        method: str,
        path: str,
        *,
        what: str,
        idempotent: bool = True,
        body: Any = None,
        **kw: Any,
    ) -> Any:
        if body is not None:
            kw["data"] = json.dumps(body, default=_default).encode("utf-8")

        def once(token: _Token) -> requests.Response:
            headers = {
                "Authorization": f"Bearer {token.access_token}",
                "Content-Type": "application/json; charset=UTF-8",
            }
            return send(
                self.session, method, token.rest_url + path, what=what, headers=headers, **kw
            )

        def attempt() -> requests.Response:
            token = self._current()
            try:
                return once(token)
            except SessionExpiredError:
                logger.info("Marketing Cloud token rejected during %s; fetching a new one", what)
                return once(self._current(stale=token))

        response = retry(attempt, self.policy, what=what, idempotent=idempotent)
        return response.json() if response.content else None

    # ---- data extension rows: async ------------------------------------------------------
    def _submit(self, method: str, de_key: str, rows: Sequence[Row], idempotent: bool) -> str:
        if not rows:
            raise ValueError("no rows to send")
        if len(rows) > ASYNC_LIMIT:
            raise ValueError(
                f"{len(rows)} rows exceed the async limit of {ASYNC_LIMIT}; split them"
            )
        path = f"data/v1/async/dataextensions/key:{quote(de_key, safe='')}/rows"
        verb = "upsert" if method == "PUT" else "insert"
        reply = self._request(
            method,
            path,
            what=f"SFMC async {verb} {de_key}",
            idempotent=idempotent,
            body={"items": list(rows)},
        )
        return str(reply["requestId"])

    def upsert_rows_async(self, de_key: str, rows: Sequence[Row]) -> str:
        return self._submit("PUT", de_key, rows, True)

    def insert_rows_async(self, de_key: str, rows: Sequence[Row]) -> str:
        return self._submit("POST", de_key, rows, False)

    def request_status(self, request_id: str) -> AsyncStatus:
        reply = self._request("GET", f"data/v1/async/{request_id}/status", what="SFMC async status")
        status = reply.get("status") or {}
        return AsyncStatus(
            request_id,
            str(status.get("requestStatus", "")),
            status.get("resultStatus"),
            bool(status.get("hasErrors")),
        )

    def wait_for_request(
        self,
        request_id: str,
        *,
        rows: int | None = None,
        timeout: float = 600.0,
        poll: float = 1.0,
    ) -> list[RowResult]:
        """Poll until the request completes, then read every page of its results.

        `rows`: how many were submitted. When the job reports no errors they all succeeded, and
        the results are not read: the documented example lists only error items, so they need
        not line up with the rows.
        """
        deadline = self._clock() + timeout
        delay = min(poll, 0.05)
        while not (status := self.request_status(request_id)).done:
            if self._clock() >= deadline:
                raise TransientError(
                    f"SFMC async request {request_id} still {status.request_status} after {timeout:.0f}s"
                )
            self._poll_sleep(delay)
            delay = min(poll, delay * 2)
        if status.request_status.lower() == "error" and not status.has_errors:
            raise TerminalError(f"SFMC async request {request_id} ended in Error")
        if rows is not None and not status.has_errors:
            return [RowResult(i, True, "OK") for i in range(rows)]
        results: list[RowResult] = []
        page, size = 1, 500
        while True:
            reply = self._request(
                "GET",
                f"data/v1/async/{request_id}/results",
                what="SFMC async results",
                params={"page": page, "pageSize": size},
            )
            items = reply.get("items") or []
            for item in items:
                ok = str(item.get("status", "")).lower() in (
                    "ok",
                    "success",
                    "complete",
                    "completed",
                )
                results.append(
                    RowResult(
                        len(results),
                        ok,
                        str(item.get("status")),
                        item.get("errorCode"),
                        item.get("message"),
                    )
                )
            if len(items) < size or len(results) >= int(reply.get("count", 0)):
                return results
            page += 1

    # ---- data extension rows: sync -------------------------------------------------------
    def upsert_rowset(
        self, de_key: str, rows: Sequence[Row], *, primary_keys: Sequence[str]
    ) -> int:
        """Upsert through /hub/v1/dataevents rowset, 50 rows per call; each call is all-or-nothing."""
        path = f"hub/v1/dataevents/key:{quote(de_key, safe='')}/rowset"
        for start in range(0, len(rows), ROWSET_LIMIT):
            chunk = rows[start : start + ROWSET_LIMIT]
            body = [
                {
                    "keys": {k: r.get(k) for k in primary_keys},
                    "values": {k: v for k, v in r.items() if k not in primary_keys},
                }
                for r in chunk
            ]
            self._request("POST", path, what=f"SFMC rowset {de_key}", body=body)
        return len(rows)

    def delete_rows(self, de_key: str, keys: Sequence[Row]) -> int:
        """Delete rows by primary key: DELETE /hub/v1/dataevents/key:{key}/rows/{Pk}:{value}
        ([derived]: the documented single-row path with DELETE; see the emulator's notes)."""
        deleted = 0
        for key in keys:
            spec = ",".join(
                f"{quote(str(k), safe='')}:{quote(str(v), safe='')}" for k, v in key.items()
            )
            path = f"hub/v1/dataevents/key:{quote(de_key, safe='')}/rows/{spec}"
            reply = self._request("DELETE", path, what=f"SFMC delete row {de_key}")
            deleted += int((reply or {}).get("deleted", 1))
        return deleted

    # ---- Journey Builder -----------------------------------------------------------------
    def fire_event(self, event_key: str, contact_key: str, data: Row | None = None) -> str:
        body: dict[str, Any] = {"ContactKey": contact_key, "EventDefinitionKey": event_key}
        if data:
            body["Data"] = dict(data)
        reply = self._request(
            "POST",
            "interaction/v1/events",
            what=f"Journey event {event_key}",
            idempotent=False,
            body=body,
        )
        return str(reply["eventInstanceId"])

    def fire_events_batch(self, event_key: str, members: Sequence[EventMember]) -> BatchEventResult:
        if not members or len(members) > JOURNEY_BATCH_LIMIT:
            raise ValueError(
                f"a journey batch takes 1..{JOURNEY_BATCH_LIMIT} members (got {len(members)})"
            )
        body = {
            "eventDefinitionKey": event_key,
            "members": [{"contactKey": m.contact_key, "data": dict(m.data)} for m in members],
        }
        reply = self._request(
            "POST",
            "interaction/v1/async/events",
            what=f"Journey batch {event_key}",
            idempotent=False,
            body=body,
        )
        out = []
        for sent, item in zip(members, reply.get("members") or [], strict=False):
            queued = item.get("status", "Queued") != "NotQueued" and not item.get("errors")
            out.append(
                EventMemberResult(
                    sent.contact_key, queued, item.get("eventInstanceId"), item.get("message")
                )
            )
        return BatchEventResult(str(reply.get("requestId")), out)
