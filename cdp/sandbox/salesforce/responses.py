"""Error bodies exactly as each Salesforce surface shapes them, plus auth checks.

- Sales Cloud REST: HTTP status + JSON array of {message, errorCode, fields}.
- OAuth token endpoint: {error, error_description}.
- Marketing Cloud REST: {message, errorcode, documentation, additionalErrors}.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from cdp.sandbox.salesforce.state import EmulatorState, Surface

MC_DOC = "https://developer.salesforce.com/docs/atlas.en-us.mc-apis.meta/mc-apis/error-handling.htm"


class SfApiError(Exception):
    def __init__(self, status: int, code: str, message: str, fields: list[str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields or []


class OAuthError(Exception):
    def __init__(self, status: int, error: str, description: str):
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


class McApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        errorcode: int = 10000,
        additional: list[dict[str, Any]] | None = None,
    ):
        super().__init__(message)
        self.status, self.message, self.errorcode, self.additional = (
            status,
            message,
            errorcode,
            additional or [],
        )


def mc_error_item(message: str, errorcode: int = 10000) -> dict[str, Any]:
    return {"message": message, "errorcode": errorcode, "documentation": ""}


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(SfApiError)
    async def _sf(_: Request, err: SfApiError) -> Response:
        body = [{"message": err.message, "errorCode": err.code, "fields": err.fields}]
        return JSONResponse(body, status_code=err.status)

    @app.exception_handler(OAuthError)
    async def _oauth(_: Request, err: OAuthError) -> Response:
        return JSONResponse(
            {"error": err.error, "error_description": err.description}, status_code=err.status
        )

    @app.exception_handler(McApiError)
    async def _mc(_: Request, err: McApiError) -> Response:
        body: dict[str, Any] = {
            "message": err.message,
            "errorcode": err.errorcode,
            "documentation": "",
        }
        if err.additional:
            body["additionalErrors"] = err.additional
        return JSONResponse(body, status_code=err.status)


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() in ("bearer", "oauth") else None


def require_token(state: EmulatorState, request: Request, surface: Surface) -> None:
    if state.token_valid(surface, bearer(request)):
        return
    if surface == "sales":
        raise SfApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")
    raise McApiError(401, "Not Authorized", 0)


async def json_body(request: Request, surface: Surface) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw or b"null")
    except ValueError as err:
        if surface == "sales":
            raise SfApiError(400, "JSON_PARSER_ERROR", f"Unexpected character: {err}") from err
        raise McApiError(400, "Request body is not valid JSON.", 10001) from err
