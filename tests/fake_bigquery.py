"""A faked HTTP transport for the real `google.cloud.bigquery.Client`.

The client object, its job configuration and its request serialisation are all real; only the
wire is replaced, so tests can assert exactly what BigQuery would have been asked.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from requests import PreparedRequest, Response
from requests.adapters import BaseAdapter


@dataclass
class FakeBigQuery(BaseAdapter):
    rows: list[dict[str, Any]] = field(default_factory=list)
    schema: list[dict[str, str]] = field(default_factory=list)
    bytes_processed: int = 123_456
    fail_with: tuple[int, str] | None = None
    jobs: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__()

    def send(self, request: PreparedRequest, **kwargs: Any) -> Response:  # type: ignore[override]
        assert request.url is not None and request.method is not None
        self.requests.append((request.method, request.url))
        path = request.url.split("bigquery.googleapis.com", 1)[-1].split("?", 1)[0]
        if self.fail_with is not None:
            status, reason = self.fail_with
            return self._respond(request, status, {"error": {"code": status, "message": reason,
                                                             "errors": [{"reason": reason, "message": reason}]}})  # fmt: skip
        if request.method == "POST" and re.search(r"/projects/[^/]+/jobs$", path):
            body = json.loads(request.body or b"{}")
            self.jobs.append(body)
            job_id = body.get("jobReference", {}).get("jobId", "job")
            return self._respond(request, 200, self._job(body, job_id))
        if request.method == "GET" and "/queries/" in path:
            return self._respond(request, 200, {
                "kind": "bigquery#getQueryResultsResponse", "jobComplete": True,
                "jobReference": {"projectId": "demo-project", "jobId": path.rsplit("/", 1)[-1]},
                "totalRows": str(len(self.rows)), "schema": {"fields": self.schema},
                "rows": [{"f": [{"v": r[f["name"]]} for f in self.schema]} for r in self.rows],
            })  # fmt: skip
        if request.method == "GET" and "/jobs/" in path:
            job_id = path.rsplit("/", 1)[-1]
            body = next(
                (j for j in self.jobs if j.get("jobReference", {}).get("jobId") == job_id), {}
            )
            return self._respond(request, 200, self._job(body, job_id))
        if request.method == "GET" and path.endswith("/tables"):
            return self._respond(request, 200, {"tables": [
                {"tableReference": {"projectId": "demo-project", "datasetId": "analytics_123456789", "tableId": t}}
                for t in ("events_20240101", "events_20240102", "events_intraday_20240103", "pseudonymous_users_20240101")
            ]})  # fmt: skip
        return self._respond(
            request, 404, {"error": {"code": 404, "message": f"Not found: {path}"}}
        )

    def _job(self, body: dict[str, Any], job_id: str) -> dict[str, Any]:
        return {
            "kind": "bigquery#job",
            "jobReference": {"projectId": "demo-project", "jobId": job_id, "location": "US"},
            "configuration": body.get("configuration", {}),
            "status": {"state": "DONE"},
            "statistics": {"totalBytesProcessed": str(self.bytes_processed),
                           "query": {"totalBytesProcessed": str(self.bytes_processed)}},
        }  # fmt: skip

    def _respond(self, request: PreparedRequest, status: int, payload: dict[str, Any]) -> Response:
        response = Response()
        response.status_code = status
        response._content = json.dumps(payload).encode()
        response.headers["Content-Type"] = "application/json"
        response.request = request
        response.url = request.url or ""
        return response

    def close(self) -> None:
        pass


def fake_client(adapter: FakeBigQuery) -> Any:
    from google.auth.credentials import AnonymousCredentials
    from google.auth.transport.requests import AuthorizedSession
    from google.cloud import bigquery

    session = AuthorizedSession(AnonymousCredentials())
    session.mount("https://", adapter)
    return bigquery.Client(
        project="demo-project", credentials=AnonymousCredentials(), _http=session, location="US"
    )
