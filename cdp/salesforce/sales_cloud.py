"""Sales Cloud client: SOQL paging, describe, Bulk API 2.0 and sObject Collections writes.

    client = SalesCloudClient(settings)                   # logs in lazily (auth.py)
    client.describe("Contact") -> dict
    client.query_pages(soql) -> Iterator[list[dict]]      # query() + query_more(), never query_all
    client.upsert_bulk("CampaignMember", "CDP_Member_Key__c", records) -> BulkResult
    client.insert_bulk(object, records) -> BulkResult      # not retried once sent
    client.delete_bulk(object, ids) -> BulkResult
    client.upsert_collection(object, ext_id_field, records, all_or_none=False) -> list[RecordResult]
    client.delete_collection(ids, all_or_none=False) -> list[RecordResult]

Every call: errors translated once (errors.py), transient ones retried with backoff
(http.py), an expired session re-authenticated once. A Bulk job that completes can still
have failed rows: they come back in `BulkResult.failed` (from failedResults), never raised.
Bulk values are sent as CSV: None -> `#N/A` (set null), bools -> true/false, datetimes ISO.
Use Bulk for more than ~2,000 records, Collections (200 per call) below (facts §3.4).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from typing import Any, TypeVar

import requests
from simple_salesforce import Salesforce

from cdp.salesforce import auth
from cdp.salesforce.errors import SessionExpiredError, translate
from cdp.salesforce.http import RetryPolicy, make_session, retry
from cdp.salesforce.secrets import logger
from cdp.salesforce.settings import SalesforceSettings

T = TypeVar("T")
COLLECTION_LIMIT = 200


@dataclass(frozen=True)
class BulkSuccess:
    id: str
    created: bool
    record: dict[str, str]


@dataclass(frozen=True)
class BulkFailure:
    id: str | None
    error: str  # "CODE:message:fields --" as Salesforce writes it
    record: dict[str, str]

    @property
    def code(self) -> str:
        return self.error.split(":", 1)[0]


@dataclass
class BulkResult:
    job_ids: list[str] = field(default_factory=list)
    successful: list[BulkSuccess] = field(default_factory=list)
    failed: list[BulkFailure] = field(default_factory=list)
    unprocessed: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class RecordError:
    code: str
    message: str
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecordResult:
    """One item of an sObject Collections call, in input order; `key` is the input's key."""

    key: str | None
    id: str | None
    success: bool
    created: bool | None = None
    errors: tuple[RecordError, ...] = ()


def _csv_value(value: Any) -> str:
    if value is None:
        return "#N/A"  # Bulk 2.0: explicit null (an empty cell means "leave unchanged")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime | date) else value


def _read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text))) if text.strip() else []


def _item_result(key: str | None, item: Mapping[str, Any]) -> RecordResult:
    errors = tuple(
        RecordError(
            e.get("statusCode") or e.get("errorCode") or "",
            e.get("message", ""),
            tuple(e.get("fields") or ()),
        )
        for e in item.get("errors") or []
    )
    return RecordResult(key, item.get("id"), bool(item.get("success")), item.get("created"), errors)


def _query_more(sf: Salesforce, url: str) -> dict[str, Any]:
    return dict(sf.query_more(url, identifier_is_url=True))


def _results(sobject: str, job_id: str, getter: str, sf: Salesforce) -> str:
    text: str = getattr(getattr(sf.bulk2, sobject), getter)(job_id)
    return text


def _restful(sf: Salesforce, path: str, method: str, **kwargs: Any) -> list[dict[str, Any]]:
    return list(sf.restful(path, method=method, **kwargs) or [])


class SalesCloudClient:
    def __init__(
        self,
        settings: SalesforceSettings,
        *,
        session: requests.Session | None = None,
        policy: RetryPolicy | None = None,
    ):
        self.settings = settings
        self.session = session or make_session(settings)
        self.policy = policy or RetryPolicy.from_settings(settings)
        self._sf: Salesforce | None = None

    # ---- session -------------------------------------------------------------------------
    @property
    def sf(self) -> Salesforce:
        """The simple-salesforce handle (logs in on first use)."""
        if self._sf is None:
            token = retry(
                lambda: auth.fetch_token(self.settings, self.session),
                self.policy,
                what="Sales Cloud login",
            )
            self._sf = auth.connect(self.settings, self.session, token)
        return self._sf

    def _call(self, what: str, fn: Callable[[Salesforce], T], *, idempotent: bool = True) -> T:
        def attempt() -> T:
            try:
                return fn(self.sf)
            except Exception as err:
                raise translate(err, what) from None

        def with_reauth() -> T:
            try:
                return attempt()
            except SessionExpiredError:
                logger.info("Sales Cloud session expired during %s; logging in again", what)
                self._sf = None
                return attempt()

        return retry(with_reauth, self.policy, what=what, idempotent=idempotent)

    # ---- reads ---------------------------------------------------------------------------
    def describe(self, sobject: str) -> dict[str, Any]:
        def run(sf: Salesforce) -> dict[str, Any]:
            return sf.restful(f"sobjects/{sobject}/describe") or {}

        return self._call(f"describe {sobject}", run)

    def query_pages(self, soql: str) -> Iterator[list[dict[str, Any]]]:
        """Yield each page's records (without `attributes`); follows nextRecordsUrl lazily."""
        page: dict[str, Any] = self._call("SOQL query", lambda sf: dict(sf.query(soql)))
        while True:
            yield [{k: v for k, v in r.items() if k != "attributes"} for r in page["records"]]
            next_url = page.get("nextRecordsUrl")
            if page.get("done", True) or not next_url:
                return
            page = self._call("SOQL query_more", partial(_query_more, url=next_url))

    # ---- Bulk API 2.0 --------------------------------------------------------------------
    def _bulk(
        self,
        operation: str,
        sobject: str,
        rows: list[dict[str, str]],
        idempotent: bool,
        **kwargs: Any,
    ) -> BulkResult:
        result = BulkResult()
        if not rows:
            return result
        wait = self.settings.sales_cloud.bulk_poll_seconds

        def run(sf: Salesforce) -> list[dict[str, Any]]:
            handler = getattr(sf.bulk2, sobject)
            jobs: list[dict[str, Any]] = getattr(handler, operation)(
                records=rows, wait=wait, **kwargs
            )
            return jobs

        jobs = self._call(f"Bulk 2.0 {operation} {sobject}", run, idempotent=idempotent)
        for job in jobs:
            job_id = job["job_id"]
            result.job_ids.append(job_id)
            ok = self._call(
                "Bulk 2.0 successfulResults",
                partial(_results, sobject, job_id, "get_successful_records"),
            )
            bad = self._call(
                "Bulk 2.0 failedResults", partial(_results, sobject, job_id, "get_failed_records")
            )
            left = self._call(
                "Bulk 2.0 unprocessedRecords",
                partial(_results, sobject, job_id, "get_unprocessed_records"),
            )
            for r in _read_csv(ok):
                rid, created = r.pop("sf__Id"), r.pop("sf__Created", "false")
                result.successful.append(BulkSuccess(rid, created.lower() == "true", r))
            for r in _read_csv(bad):
                rid, error = r.pop("sf__Id", ""), r.pop("sf__Error", "")
                result.failed.append(BulkFailure(rid or None, error, r))
            result.unprocessed.extend(_read_csv(left))
        logger.info(
            "Bulk %s %s: %d ok, %d failed, %d unprocessed",
            operation, sobject, len(result.successful), len(result.failed), len(result.unprocessed),
        )  # fmt: skip
        return result

    def upsert_bulk(
        self,
        sobject: str,
        ext_id_field: str,
        records: Sequence[Mapping[str, Any]],
        *,
        batch_size: int | None = None,
    ) -> BulkResult:
        rows = [{k: _csv_value(v) for k, v in r.items()} for r in records]
        return self._bulk(
            "upsert", sobject, rows, True, external_id_field=ext_id_field, batch_size=batch_size
        )

    def insert_bulk(self, sobject: str, records: Sequence[Mapping[str, Any]]) -> BulkResult:
        rows = [{k: _csv_value(v) for k, v in r.items()} for r in records]
        return self._bulk("insert", sobject, rows, False)

    def delete_bulk(self, sobject: str, ids: Sequence[str]) -> BulkResult:
        return self._bulk("delete", sobject, [{"Id": i} for i in ids], True)

    # ---- sObject Collections -------------------------------------------------------------
    def upsert_collection(
        self,
        sobject: str,
        ext_id_field: str,
        records: Sequence[Mapping[str, Any]],
        *,
        all_or_none: bool = False,
    ) -> list[RecordResult]:
        results: list[RecordResult] = []
        for start in range(0, len(records), COLLECTION_LIMIT):
            chunk = records[start : start + COLLECTION_LIMIT]
            body = {
                "allOrNone": all_or_none,
                "records": [
                    {"attributes": {"type": sobject}} | {k: _json_value(v) for k, v in r.items()}
                    for r in chunk
                ],
            }
            path = f"composite/sobjects/{sobject}/{ext_id_field}"
            items = self._call(
                f"Collections upsert {sobject}",
                partial(_restful, path=path, method="PATCH", json=body),
            )
            results.extend(
                _item_result(str(r.get(ext_id_field)), item)
                for r, item in zip(chunk, items or [], strict=True)
            )
        return results

    def delete_collection(
        self, ids: Sequence[str], *, all_or_none: bool = False
    ) -> list[RecordResult]:
        results: list[RecordResult] = []
        for start in range(0, len(ids), COLLECTION_LIMIT):
            chunk = ids[start : start + COLLECTION_LIMIT]
            params = {"ids": ",".join(chunk), "allOrNone": str(all_or_none).lower()}
            items = self._call(
                "Collections delete",
                partial(_restful, path="composite/sobjects", method="DELETE", params=params),
            )
            # Results come in request order; a failed one may carry no id of its own, so each is
            # keyed by the id sent (else its row would be retried forever, never dead-lettered).
            replies = items or []
            if len(replies) == len(chunk):
                results.extend(
                    _item_result(sent, item) for sent, item in zip(chunk, replies, strict=True)
                )
            else:
                results.extend(_item_result(item.get("id"), item) for item in replies)
        return results
