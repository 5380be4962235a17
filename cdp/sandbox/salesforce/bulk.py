"""Bulk API 2.0 ingest jobs: create, upload one CSV, close, poll, read per-row results.

Jobs are processed when the client sets `UploadComplete`; GET on the job then answers
`InProgress` for `config.bulk_pending_polls` polls before `JobComplete`, so clients have
to poll as they would against a real org. Result CSVs carry `sf__Id`, `sf__Created` /
`sf__Error` and then the original columns, every value quoted (as Salesforce writes them).
"""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cdp.sandbox.salesforce.faults import FaultPlan
from cdp.sandbox.salesforce.records import WriteError, Writer, to_json_value
from cdp.sandbox.salesforce.responses import SfApiError, json_body, require_token
from cdp.sandbox.salesforce.state import BulkJob, EmulatorState

OPERATIONS = ("insert", "upsert", "update", "delete", "hardDelete")
DELIMITERS = {
    "COMMA": ",",
    "TAB": "\t",
    "PIPE": "|",
    "SEMICOLON": ";",
    "CARET": "^",
    "BACKQUOTE": "`",
}


def _info(job: BulkJob) -> dict[str, Any]:
    return {
        "id": job.id, "operation": job.operation, "object": job.object, "createdById": "0055Lw0000000001AAA",
        "createdDate": to_json_value(job.created), "systemModstamp": to_json_value(job.created),
        "state": job.state, "externalIdFieldName": job.external_id_field, "concurrencyMode": "Parallel",
        "contentType": "CSV", "apiVersion": float(job.api_version), "jobType": "V2Ingest",
        "contentUrl": f"services/data/v{job.api_version}/jobs/ingest/{job.id}/batches",
        "lineEnding": "LF", "columnDelimiter": "COMMA",
        "numberRecordsProcessed": len(job.successful) + len(job.failed),
        "numberRecordsFailed": len(job.failed), "retries": 0, "totalProcessingTime": 0,
        "apiActiveProcessingTime": 0, "apexProcessingTime": 0, "errorMessage": job.error_message,
    }  # fmt: skip


def _csv(header: list[str], rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(
        out, fieldnames=header, quoting=csv.QUOTE_ALL, lineterminator="\n", extrasaction="ignore"
    )
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def bulk_router(state: EmulatorState, faults: FaultPlan) -> APIRouter:
    router = APIRouter(prefix="/services/data/{version}/jobs/ingest")
    writer = Writer(state, faults)

    def _job(job_id: str) -> BulkJob:
        job = state.bulk_jobs.get(job_id)
        if job is None:
            raise SfApiError(404, "NOT_FOUND", "The requested resource does not exist")
        return job

    @router.post("")
    @router.post("/")
    async def create(version: str, request: Request) -> dict[str, Any]:
        require_token(state, request, "sales")
        body = await json_body(request, "sales")
        if not isinstance(body, dict):
            raise SfApiError(400, "INVALIDJOB", "request body must be a JSON object")
        operation, name = body.get("operation"), body.get("object")
        if operation not in OPERATIONS:
            raise SfApiError(400, "INVALIDJOB", f"InvalidJob : Invalid operation: {operation}")
        sobject = state.sobjects.get(str(name))
        if sobject is None:
            raise SfApiError(400, "INVALIDJOB", f"InvalidJob : Unable to find object: {name}")
        if (
            body.get("contentType", "CSV") != "CSV"
            or body.get("columnDelimiter", "COMMA") not in DELIMITERS
        ):
            raise SfApiError(
                400,
                "INVALIDJOB",
                "InvalidJob : only CSV content with a known delimiter is supported",
            )
        ext = body.get("externalIdFieldName")
        if operation == "upsert":
            key = sobject.field(str(ext or ""))
            if key is None or not (key.external_id or key.type == "id"):
                raise SfApiError(
                    400,
                    "INVALIDJOB",
                    f"InvalidJob : External ID was blank or not an external id field for {name}: {ext}",
                )
            ext = key.name
        job = BulkJob(
            state.ids.new("Job"), sobject.name, operation, ext, version.lstrip("v"), state.stamp()
        )
        with state.lock:
            state.bulk_jobs[job.id] = job
        return _info(job)

    @router.put("/{job_id}/batches")
    async def upload(version: str, job_id: str, request: Request) -> Response:
        require_token(state, request, "sales")
        job = _job(job_id)
        if job.state != "Open" or job.csv is not None:
            raise SfApiError(409, "INVALIDJOBSTATE", f"Job {job_id} is not open for data upload")
        job.csv = (await request.body()).decode("utf-8")
        return Response(status_code=201)

    def _process(job: BulkJob) -> None:
        reader = csv.DictReader(io.StringIO(job.csv or ""))
        header = list(reader.fieldnames or [])
        job.columns = header
        sobject = state.sobjects[job.object]
        unknown = [h for h in header if sobject.field(h) is None]
        problem = None
        if not header or unknown:
            problem = f"InvalidBatch : Field name not found : {(unknown or [''])[0]}"
        elif job.operation in ("delete", "hardDelete") and [h.lower() for h in header] != ["id"]:
            problem = "InvalidBatch : The 'delete' batch must contain only 'Id'"
        elif job.operation == "upsert" and str(job.external_id_field).lower() not in {
            h.lower() for h in header
        }:
            problem = f"InvalidBatch : Field name not found : {job.external_id_field}"
        if problem:
            # The whole job fails; every row is reported as unprocessed.
            job.state, job.error_message, job.unprocessed = "Failed", problem, list(reader)
            return
        with state.lock:
            for row in reader:
                try:
                    if job.operation == "upsert":
                        rid, created = writer.upsert(
                            sobject, str(job.external_id_field), row, from_csv=True
                        )
                    elif job.operation == "insert":
                        rid, created = writer.insert(sobject, row, from_csv=True)
                    elif job.operation == "update":
                        rid, created = writer.upsert(sobject, "Id", row, from_csv=True)
                    else:
                        rid, created = next(iter(row.values())), False
                        writer.delete(rid)
                    job.successful.append(
                        {"sf__Id": rid, "sf__Created": "true" if created else "false", **row}
                    )
                except WriteError as err:
                    failed_id = (
                        next(iter(row.values()))
                        if job.operation in ("delete", "hardDelete")
                        else ""
                    )
                    job.failed.append({"sf__Id": failed_id, "sf__Error": err.bulk_text(), **row})
        job.state, job.polls_left = "JobComplete", state.config.bulk_pending_polls

    @router.patch("/{job_id}")
    async def set_state(version: str, job_id: str, request: Request) -> dict[str, Any]:
        require_token(state, request, "sales")
        job = _job(job_id)
        wanted = (await json_body(request, "sales") or {}).get("state")
        if wanted == "UploadComplete" and job.state == "Open":
            if job.csv is None:
                job.state, job.error_message = "Failed", "InvalidBatch : No data uploaded"
            else:
                _process(job)
            shown = _info(job) | {"state": "UploadComplete"}
            return shown
        if wanted == "Aborted" and job.state in ("Open", "UploadComplete", "InProgress"):
            job.state = "Aborted"
            return _info(job)
        raise SfApiError(
            400,
            "INVALIDJOBSTATE",
            f"Cannot change state of job {job_id} from {job.state} to {wanted}",
        )

    @router.get("/{job_id}")
    async def get(version: str, job_id: str, request: Request) -> dict[str, Any]:
        require_token(state, request, "sales")
        job = _job(job_id)
        if job.state == "JobComplete" and job.polls_left > 0:
            job.polls_left -= 1
            return _info(job) | {"state": "InProgress"}
        return _info(job)

    @router.delete("/{job_id}")
    async def delete(version: str, job_id: str, request: Request) -> Response:
        require_token(state, request, "sales")
        with state.lock:
            state.bulk_jobs.pop(_job(job_id).id)
        return Response(status_code=204)

    @router.get("/{job_id}/{kind}")
    @router.get("/{job_id}/{kind}/")
    async def results(version: str, job_id: str, kind: str, request: Request) -> Response:
        require_token(state, request, "sales")
        job = _job(job_id)
        if kind.lower() == "successfulresults":
            text = _csv(["sf__Id", "sf__Created", *job.columns], job.successful)
        elif kind.lower() == "failedresults":
            text = _csv(["sf__Id", "sf__Error", *job.columns], job.failed)
        elif kind.lower() == "unprocessedrecords":
            text = _csv(job.columns, job.unprocessed)
        else:
            raise SfApiError(404, "NOT_FOUND", "The requested resource does not exist")
        return Response(text, media_type="text/csv")

    return router
