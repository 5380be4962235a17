"""Marketing Cloud Engagement surface: auth host (`/mc-auth`) and REST host (`/mc-rest`).

Separate prefixes stand in for the separate `*.auth.` and `*.rest.marketingcloudapis.com`
hosts, so clients must take `rest_instance_url` from the token response.

Routes (facts file §2):
- POST /v2/token                                              (MC-TOKEN)
- POST|PUT /data/v1/async/dataextensions/key:{key}/rows -> 202 (MC-ASYNC; insert | upsert)
- GET /data/v1/async/{requestId}/status | /results            (MC-ASYNC)
- POST /hub/v1/dataevents/key:{key}/rowset                     (MC-SYNC; upsert, <=50 rows)
- PUT /hub/v1/dataevents/key:{key}/rows/{Pk}:{value}           (MC-SYNC; one row)
- DELETE /hub/v1/dataevents/key:{key}/rows/{Pk}:{value}        [derived] not on an official
  page: the documented single-row path with the DELETE verb, as used by public SFMC clients.
  Compound keys are written `Pk1:v1,Pk2:v2`.
- POST /interaction/v1/events -> 201; POST /interaction/v1/async/events -> 202 (MC-EVT, MC-EVTB)

[derived] async `results` lists one item per submitted row, in order, with status "OK" or
"Error" (official examples show only error items and no row key: `async_results_errors_only`).
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from cdp.sandbox.salesforce import data_extensions as dex
from cdp.sandbox.salesforce.faults import FaultPlan
from cdp.sandbox.salesforce.records import to_json_value
from cdp.sandbox.salesforce.responses import McApiError, json_body, mc_error_item, require_token
from cdp.sandbox.salesforce.schema import DataExtension
from cdp.sandbox.salesforce.state import AsyncRequest, EmulatorState, JourneyEntry

SCOPES = "data_extensions_read data_extensions_write journeys_read journeys_execute"


def mc_auth_router(state: EmulatorState) -> APIRouter:
    router = APIRouter()

    @router.post("/v2/token")
    async def token(request: Request) -> Response:
        body = await json_body(request, "mc")
        if not isinstance(body, dict) or body.get("grant_type") != "client_credentials":
            return JSONResponse(
                {"error": "unsupported_grant_type", "error_description": "Use client_credentials."},
                400,
            )
        secret = state.credentials.mc_clients.get(str(body.get("client_id")))
        account = body.get("account_id")
        if (
            secret is None
            or not secrets.compare_digest(secret, str(body.get("client_secret", "")))
            or (account is not None and str(account) != state.credentials.mc_account_id)
        ):
            return JSONResponse(
                {
                    "error": "invalid_client",
                    "error_description": "Client authentication failed.",
                    "error_uri": "https://developer.salesforce.com/docs",
                },
                401,
            )
        access, lifetime = state.issue_token("mc")
        root = str(request.base_url).rstrip("/")
        return JSONResponse(
            {
                "access_token": access, "token_type": "Bearer", "expires_in": int(lifetime), "scope": SCOPES,
                "soap_instance_url": f"{root}/mc-soap/", "rest_instance_url": f"{root}/mc-rest/",
            }
        )  # fmt: skip

    return router


def mc_rest_router(state: EmulatorState, faults: FaultPlan) -> APIRouter:
    router = APIRouter()

    def _de(ref: str) -> DataExtension:
        if not ref.startswith("key:"):
            raise McApiError(
                400, "Only key:{externalKey} references are supported by the emulator.", 10001
            )
        de = state.data_extensions.get(ref[4:])
        if de is None:
            raise McApiError(
                404, f"Data extension with external key '{ref[4:]}' was not found.", 10000
            )
        return de

    def _check_row(de: DataExtension, row: Any) -> dict[str, Any]:
        if not isinstance(row, dict):
            raise dex.RowError("Each item must be a JSON object of column values.")
        clean = dex.validate_row(de, row)
        failure = faults.row_failure(de.key, clean)
        if failure:
            raise dex.RowError(failure.message, code=failure.code)
        return clean

    # ---- async rows ----------------------------------------------------------------------
    async def _submit(de_ref: str, request: Request, mode: str) -> Response:
        require_token(state, request, "mc")
        de = _de(de_ref)
        body = await json_body(request, "mc")
        items = body.get("items") if isinstance(body, dict) else None
        if not isinstance(items, list) or not items:
            raise McApiError(400, "items is required and must be a non-empty array.", 10001)
        if len(items) > state.config.async_max_items:
            raise McApiError(
                400,
                f"The request contains {len(items)} items; the maximum is {state.config.async_max_items}.",
                10006,
            )
        results = []
        with state.lock:
            for row in items:
                try:
                    clean = _check_row(de, row)
                    (dex.insert if mode == "insert" else dex.upsert)(de, clean)
                    results.append({"status": "OK"})
                except dex.RowError as err:
                    results.append(
                        {"status": "Error", "errorCode": err.code, "message": err.message}
                    )
            rid = str(uuid.uuid4())
            state.async_requests[rid] = AsyncRequest(
                rid, de.key, state.stamp(), results, state.config.async_pending_polls
            )
        return JSONResponse({"requestId": rid, "resultMessages": []}, status_code=202)

    @router.post("/data/v1/async/dataextensions/{de_ref}/rows")
    async def insert_async(de_ref: str, request: Request) -> Response:
        return await _submit(de_ref, request, "insert")

    @router.put("/data/v1/async/dataextensions/{de_ref}/rows")
    async def upsert_async(de_ref: str, request: Request) -> Response:
        return await _submit(de_ref, request, "upsert")

    def _request(request_id: str) -> AsyncRequest:
        found = state.async_requests.get(request_id)
        if found is None:
            raise McApiError(404, f"Request {request_id} was not found.", 10001)
        return found

    @router.get("/data/v1/async/{request_id}/status")
    async def status(request_id: str, request: Request) -> dict[str, Any]:
        require_token(state, request, "mc")
        req = _request(request_id)
        with state.lock:
            pending = req.polls_left > 0
            req.polls_left = max(0, req.polls_left - 1)
        has_errors = any(r["status"] == "Error" for r in req.results)
        when = to_json_value(req.called)
        return {
            "requestId": request_id,
            "status": {
                "callDateTime": when, "pickupDateTime": None if pending else when,
                "completionDateTime": None if pending else when, "hasErrors": False if pending else has_errors,
                "requestStatus": "Pending" if pending else "Complete",
                "resultStatus": "Pending" if pending else ("Error" if has_errors else "OK"), "requestId": request_id,
            },
        }  # fmt: skip

    @router.get("/data/v1/async/{request_id}/results")
    async def results(
        request_id: str, request: Request, page: int = 1, pageSize: int = 50
    ) -> dict[str, Any]:
        require_token(state, request, "mc")
        req = _request(request_id)
        items = [] if req.polls_left > 0 else req.results
        if state.config.async_results_errors_only:
            items = [r for r in items if r["status"] == "Error"]
        start = (max(page, 1) - 1) * pageSize
        return {
            "page": page,
            "pageSize": pageSize,
            "count": len(items),
            "items": items[start : start + pageSize],
            "requestId": request_id,
        }

    # ---- sync rows -----------------------------------------------------------------------
    @router.post("/hub/v1/dataevents/{de_ref}/rowset")
    async def rowset(de_ref: str, request: Request) -> Response:
        require_token(state, request, "mc")
        de = _de(de_ref)
        body = await json_body(request, "mc")
        if not isinstance(body, list) or not body:
            raise McApiError(
                400, "The request body must be a non-empty array of {keys, values}.", 10001
            )
        if len(body) > state.config.rowset_max_rows:
            raise McApiError(
                400,
                f"A rowset may hold at most {state.config.rowset_max_rows} rows (got {len(body)}).",
                10006,
            )
        errors, clean_rows = [], []
        for item in body:
            try:
                if not isinstance(item, dict) or not isinstance(item.get("keys"), dict):
                    raise dex.RowError("Each row needs a keys object with the primary key columns.")
                clean = _check_row(de, {**(item.get("values") or {}), **item["keys"]})
                clean_rows.append(clean)
            except dex.RowError as err:
                errors.append(mc_error_item(err.message, err.errorcode))
        if errors:  # the rowset is saved all-or-nothing [derived from the observed 10006 body]
            raise McApiError(
                400,
                f"Unable to save rows for data extension ID {dex.de_guid(de.key)}",
                10006,
                errors,
            )
        with state.lock:
            for clean in clean_rows:
                dex.upsert(de, clean)
        return JSONResponse(body)

    def _key_from_path(de: DataExtension, spec: str) -> dict[str, str]:
        pairs = dict(part.split(":", 1) for part in spec.split(",") if ":" in part)
        if not pairs:
            raise McApiError(400, "Row key must be written {PrimaryKey}:{value}.", 10001)
        return pairs

    @router.put("/hub/v1/dataevents/{de_ref}/rows/{key_spec}")
    async def upsert_row(de_ref: str, key_spec: str, request: Request) -> Response:
        require_token(state, request, "mc")
        de = _de(de_ref)
        body = await json_body(request, "mc")
        values = body.get("values") if isinstance(body, dict) else None
        try:
            clean = _check_row(de, {**(values or {}), **_key_from_path(de, key_spec)})
            with state.lock:
                dex.upsert(de, clean)
        except dex.RowError as err:
            raise McApiError(
                400,
                f"Unable to save rows for data extension ID {dex.de_guid(de.key)}",
                10006,
                [mc_error_item(err.message)],
            ) from err
        return JSONResponse({"keys": _key_from_path(de, key_spec), "values": values or {}})

    @router.delete("/hub/v1/dataevents/{de_ref}/rows/{key_spec}")
    async def delete_row(de_ref: str, key_spec: str, request: Request) -> Response:
        require_token(state, request, "mc")
        de = _de(de_ref)
        given = {k.lower(): v for k, v in _key_from_path(de, key_spec).items()}
        if set(given) != {pk.lower() for pk in de.primary_keys}:
            raise McApiError(
                400, f"Primary key '{','.join(de.primary_keys)}' does not exist.", 10000
            )
        with state.lock:
            removed = de.rows.pop(
                tuple(str(given[pk.lower()]).lower() for pk in de.primary_keys), None
            )
        return JSONResponse({"deleted": 1 if removed else 0})

    # ---- Journey Builder events ----------------------------------------------------------
    def _enter(event_key: str, contact_key: Any, data: Any) -> str:
        ev = state.event_definitions.get(event_key)
        if ev is None:
            raise dex.RowError(f"Event definition key '{event_key}' was not found.", 30000)
        if not isinstance(contact_key, str) or not contact_key:
            raise dex.RowError("ContactKey is required.", 30001)
        if contact_key in state.inactive_contacts:
            raise dex.RowError(f"Contact '{contact_key}' is not active.", 30002)
        probe = DataExtension(ev.key, ev.fields)
        clean = dex.validate_row(probe, data or {}) if ev.fields else {}
        missing = [f.name for f in ev.fields if not f.nullable and clean.get(f.name) is None]
        if missing:
            raise dex.RowError(
                f"{missing[0]}: The value for column [{missing[0]}] is required.", 30003
            )
        failure = faults.row_failure(event_key, {"ContactKey": contact_key, **clean})
        if failure:
            raise dex.RowError(failure.message, 30004, failure.code)
        instance = str(uuid.uuid4())
        state.journey_entries.append(
            JourneyEntry(event_key, contact_key, clean, instance, state.stamp())
        )
        return instance

    @router.post("/interaction/v1/events")
    async def fire(request: Request) -> Response:
        require_token(state, request, "mc")
        body = await json_body(request, "mc")
        if not isinstance(body, dict):
            raise McApiError(400, "Request body must be a JSON object.", 10001)
        try:
            with state.lock:
                instance = _enter(
                    str(body.get("EventDefinitionKey")), body.get("ContactKey"), body.get("Data")
                )
        except dex.RowError as err:
            raise McApiError(400, err.message, err.errorcode) from err
        return JSONResponse({"eventInstanceId": instance}, status_code=201)

    @router.post("/interaction/v1/async/events")
    async def fire_batch(request: Request) -> Response:
        require_token(state, request, "mc")
        body = await json_body(request, "mc")
        members = body.get("members") if isinstance(body, dict) else None
        event_key = str(body.get("eventDefinitionKey")) if isinstance(body, dict) else ""
        if not isinstance(members, list) or not members:
            raise McApiError(400, "members is required and must be a non-empty array.", 10001)
        if len(members) > state.config.journey_batch_max:
            raise McApiError(
                400,
                f"At most {state.config.journey_batch_max} members per request (got {len(members)}).",
                10006,
            )
        if event_key not in state.event_definitions:
            raise McApiError(400, f"Event definition key '{event_key}' was not found.", 30000)
        out = []
        with state.lock:
            for m in members:
                try:
                    m = m if isinstance(m, dict) else {}
                    instance = _enter(event_key, m.get("contactKey"), m.get("data"))
                    out.append(
                        {
                            "contactKey": m.get("contactKey"),
                            "eventInstanceId": instance,
                            "status": "Queued",
                        }
                    )
                except dex.RowError as err:
                    out.append(
                        {
                            "contactKey": m.get("contactKey"),
                            "status": "NotQueued",
                            "message": err.message,
                            "errorcode": err.errorcode,
                        }
                    )
        not_queued = sum(1 for m in out if m["status"] != "Queued")
        return JSONResponse(
            {
                "requestId": str(uuid.uuid4()),
                "count": len(out),
                "notQueuedCount": not_queued,
                "members": out,
            },
            status_code=202,
        )

    return router
