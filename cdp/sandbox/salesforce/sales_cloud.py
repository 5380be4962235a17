"""Sales Cloud REST surface: OAuth token, SOQL query with cursors, describe, sObject Collections.

Bulk API 2.0 lives in `bulk.py`. Paths follow `/services/...` as on a real instance, so
simple-salesforce talks to this server unchanged.
"""

from __future__ import annotations

import copy
import secrets
import time
from typing import Any
from urllib.parse import parse_qs

import jwt
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from cdp.sandbox.salesforce import soql
from cdp.sandbox.salesforce.faults import FaultPlan
from cdp.sandbox.salesforce.records import WriteError, Writer, to_json_value
from cdp.sandbox.salesforce.responses import OAuthError, SfApiError, json_body, require_token
from cdp.sandbox.salesforce.state import EmulatorState

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def _version(version: str) -> str:
    if not version.startswith("v"):
        raise SfApiError(404, "NOT_FOUND", "The requested resource does not exist")
    return version[1:]


def sales_cloud_router(state: EmulatorState, faults: FaultPlan) -> APIRouter:
    router = APIRouter()
    writer = Writer(state, faults)

    # ---- OAuth ---------------------------------------------------------------------------
    def _check_jwt(assertion: str) -> None:
        creds = state.credentials
        try:
            issuer = jwt.decode(assertion, options={"verify_signature": False}).get("iss")
        except jwt.PyJWTError as err:
            raise OAuthError(400, "invalid_grant", "invalid assertion") from err
        key = creds.jwt_public_keys.get(str(issuer))
        if key is None:
            raise OAuthError(400, "invalid_client_id", "client identifier invalid")
        try:
            claims = jwt.decode(
                assertion, key, algorithms=["RS256"], audience=creds.jwt_audience,
                options={"require": ["iss", "sub", "aud", "exp"]},
            )  # fmt: skip
        except jwt.ExpiredSignatureError as err:
            raise OAuthError(400, "invalid_grant", "expired authorization code") from err
        except jwt.InvalidAudienceError as err:
            raise OAuthError(400, "invalid_grant", "audience is invalid") from err
        except jwt.PyJWTError as err:
            raise OAuthError(400, "invalid_grant", "invalid assertion") from err
        if claims["sub"] not in creds.sales_users:
            raise OAuthError(400, "invalid_grant", "user hasn't approved this consumer")

    @router.post("/services/oauth2/token")
    async def token(request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        grant = form.get("grant_type")
        if grant == "client_credentials":
            secret = state.credentials.sales_clients.get(form.get("client_id", ""))
            if secret is None or not secrets.compare_digest(secret, form.get("client_secret", "")):
                raise OAuthError(400, "invalid_client", "invalid client credentials")
        elif grant == JWT_GRANT:
            _check_jwt(form.get("assertion", ""))
        else:
            raise OAuthError(400, "unsupported_grant_type", "grant type not supported")
        access, _ = state.issue_token("sales")
        base = str(request.base_url).rstrip("/")
        return JSONResponse(
            {
                "access_token": access, "instance_url": base, "token_type": "Bearer", "scope": "api",
                "id": f"{base}/id/00D5Lw0000000001AAA/0055Lw0000000001AAA",
                "issued_at": str(int(time.time() * 1000)), "signature": secrets.token_urlsafe(16),
            }
        )  # fmt: skip

    # ---- SOQL ----------------------------------------------------------------------------
    def _page(version: str, cursor: str, offset: int, size: int) -> dict[str, Any]:
        with state.lock:
            rows = state.cursors.get(cursor)
        if rows is None:
            raise SfApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        chunk = rows[offset : offset + size]
        body: dict[str, Any] = {
            "totalSize": len(rows),
            "done": offset + size >= len(rows),
            "records": chunk,
        }
        if not body["done"]:
            body["nextRecordsUrl"] = f"/services/data/v{version}/query/{cursor}-{offset + size}"
        return body

    def _batch_size(request: Request) -> int:
        options = request.headers.get("sforce-query-options", "")
        for part in options.split(","):
            name, _, value = part.strip().partition("=")
            if name == "batchSize" and value.isdigit():
                return max(200, min(2000, int(value)))
        return state.config.query_page_size

    @router.get("/services/data/{version}/query")
    @router.get("/services/data/{version}/query/")
    async def query(version: str, request: Request, q: str = "") -> dict[str, Any]:
        require_token(state, request, "sales")
        ver = _version(version)
        try:
            parsed = soql.parse(q)
            with state.lock:
                sobject = soql.bind(parsed, state.sobjects)
                rows = soql.run(parsed, list(state.records[sobject.name].values()))
        except soql.SoqlError as err:
            raise SfApiError(400, err.code, err.message) from err
        records = [
            {
                "attributes": {
                    "type": sobject.name,
                    "url": f"/services/data/v{ver}/sobjects/{sobject.name}/{r.get('Id')}",
                }
            }
            | {k: to_json_value(v) for k, v in r.items()}
            for r in rows
        ]
        cursor = state.ids.new("Cursor")[:15]
        with state.lock:
            state.cursors[cursor] = records
        return _page(ver, cursor, 0, _batch_size(request))

    @router.get("/services/data/{version}/query/{locator}")
    async def query_more(version: str, locator: str, request: Request) -> dict[str, Any]:
        require_token(state, request, "sales")
        cursor, _, offset = locator.rpartition("-")
        if not offset.isdigit():
            raise SfApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return _page(_version(version), cursor, int(offset), _batch_size(request))

    # ---- describe ------------------------------------------------------------------------
    @router.get("/services/data/{version}/sobjects/{name}/describe")
    @router.get("/services/data/{version}/sobjects/{name}/describe/")
    async def describe(version: str, name: str, request: Request) -> dict[str, Any]:
        require_token(state, request, "sales")
        _version(version)
        sobject = state.sobjects.get(name)
        if sobject is None:
            raise SfApiError(404, "NOT_FOUND", "The requested resource does not exist")
        return sobject.describe()

    # ---- sObject Collections -------------------------------------------------------------
    rolled_back = WriteError(
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "Record rolled back because not all records were valid and the request was using AllOrNone header",
    )

    @router.patch("/services/data/{version}/composite/sobjects/{name}/{ext_field}")
    async def upsert_collection(
        version: str, name: str, ext_field: str, request: Request
    ) -> list[dict[str, Any]]:
        require_token(state, request, "sales")
        _version(version)
        body = await json_body(request, "sales")
        sobject = state.sobjects.get(name)
        if sobject is None:
            raise SfApiError(400, "INVALID_TYPE", f"sObject type '{name}' is not supported.")
        key = sobject.field(ext_field)
        if key is None or not (key.external_id or key.type == "id"):
            raise SfApiError(
                400,
                "INVALID_FIELD",
                f"Provided external ID field does not exist or is not accessible: {ext_field}",
            )
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list) or not records:
            raise SfApiError(
                400, "INVALID_INPUT", "records is required and must be a non-empty list"
            )
        if len(records) > state.config.collection_max:
            raise SfApiError(
                400,
                "EXCEEDED_ID_LIMIT",
                f"record limit reached. cannot submit more than {state.config.collection_max} records into this call",
            )
        all_or_none = bool(body.get("allOrNone", False))
        results: list[dict[str, Any]] = []
        with state.lock:
            snapshot = copy.deepcopy(state.records)
            for raw in records:
                try:
                    rtype = (
                        (raw.get("attributes") or {}).get("type") if isinstance(raw, dict) else None
                    )
                    if rtype != sobject.name:
                        raise WriteError(
                            "INVALID_TYPE", f"records must all be of type {sobject.name}"
                        )
                    rid, created = writer.upsert(sobject, key.name, raw, from_csv=False)
                    results.append({"id": rid, "success": True, "errors": [], "created": created})
                except WriteError as err:
                    results.append({"id": None, "success": False, "errors": [err.item()]})
            if all_or_none and not all(r["success"] for r in results):
                state.records = snapshot
                results = [
                    r
                    if not r["success"]
                    else {"id": None, "success": False, "errors": [rolled_back.item()]}
                    for r in results
                ]
        return results

    @router.delete("/services/data/{version}/composite/sobjects")
    async def delete_collection(
        version: str, request: Request, ids: str = "", allOrNone: str = "false"
    ) -> list[dict[str, Any]]:
        require_token(state, request, "sales")
        _version(version)
        id_list = [i for i in ids.split(",") if i]
        if not id_list or len(id_list) > state.config.collection_max:
            raise SfApiError(
                400,
                "EXCEEDED_ID_LIMIT" if id_list else "INVALID_INPUT",
                f"between 1 and {state.config.collection_max} ids are required",
            )
        results: list[dict[str, Any]] = []
        with state.lock:
            snapshot = copy.deepcopy(state.records)
            for rid in id_list:
                try:
                    writer.delete(rid)
                    results.append({"id": rid, "success": True, "errors": []})
                except WriteError as err:
                    # A malformed id is not an Id: the result carries none.
                    own = None if err.code == "MALFORMED_ID" else rid
                    results.append({"id": own, "success": False, "errors": [err.item()]})
            if allOrNone.lower() == "true" and not all(r["success"] for r in results):
                state.records = snapshot
                results = [
                    r
                    if not r["success"]
                    else {"id": r["id"], "success": False, "errors": [rolled_back.item()]}
                    for r in results
                ]
        return results

    return router
