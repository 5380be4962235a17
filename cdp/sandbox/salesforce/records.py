"""Sales Cloud write semantics shared by Bulk API 2.0 and sObject Collections.

Values arrive either as CSV text (Bulk 2.0: empty = leave unchanged, `#N/A` = set null) or
as JSON values (REST: types must match). Every write is validated against the declared
schema and answers with Salesforce's error codes; injected row failures apply last.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from cdp.sandbox.salesforce.faults import FaultPlan
from cdp.sandbox.salesforce.ids import PREFIXES
from cdp.sandbox.salesforce.schema import SField, SObject
from cdp.sandbox.salesforce.state import EmulatorState, Record

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_ID = re.compile(r"^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$")
_SKIP = object()  # CSV empty cell: leave the field as it is


class WriteError(Exception):
    def __init__(self, code: str, message: str, fields: list[str] | None = None):
        super().__init__(message)
        self.code, self.message, self.fields = code, message, fields or []

    def bulk_text(self) -> str:
        # Bulk 2.0 failedResults format: CODE:message:fields --
        return f"{self.code}:{self.message}:{','.join(self.fields)} --"

    def item(self) -> dict[str, Any]:
        # sObject Collections per-item error shape (note: statusCode, not errorCode).
        return {"statusCode": self.code, "message": self.message, "fields": self.fields}


def parse_datetime(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _coerce(f: SField, value: Any, from_csv: bool) -> Any:
    if from_csv:
        if value == "":
            return _SKIP
        if value == "#N/A":
            return None
    if value is None:
        return None
    bad = WriteError(
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        f"{f.name}: value not of required type: {value}",
        [f.name],
    )
    if f.type == "boolean":
        if isinstance(value, bool):
            return value
        if from_csv and str(value).lower() in ("true", "false", "1", "0"):
            return str(value).lower() in ("true", "1")
        raise bad
    if f.type in ("int", "double"):
        if isinstance(value, bool):
            raise bad
        try:
            return int(value) if f.type == "int" else float(value)
        except (TypeError, ValueError):
            raise bad from None
    if f.type in ("datetime", "date"):
        try:
            parsed = parse_datetime(str(value))
        except ValueError:
            raise bad from None
        return parsed if f.type == "datetime" else parsed.date()
    if not isinstance(value, str):
        if from_csv or isinstance(value, bool | dict | list):
            raise bad
        value = str(value)
    if len(value) > f.length:
        raise WriteError(
            "STRING_TOO_LONG",
            f"{f.name}: data value too large: {value[:20]} (max length={f.length})",
            [f.name],
        )
    if f.type == "email" and not _EMAIL.match(value):
        raise WriteError(
            "INVALID_EMAIL_ADDRESS", f"{f.name}: invalid email address: {value}", [f.name]
        )
    if f.type == "picklist" and f.picklist and value not in f.picklist:
        raise WriteError(
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            f"{f.name}: bad value for restricted picklist field: {value}",
            [f.name],
        )
    if f.type == "reference" and (
        not _ID.match(value) or not any(value.startswith(PREFIXES[t]) for t in f.reference_to)
    ):
        raise WriteError("MALFORMED_ID", f"{f.name}: id value of incorrect type: {value}", [f.name])
    return value


def clean(sobject: SObject, raw: dict[str, Any], from_csv: bool) -> Record:
    """Map names to their declared spelling and coerce values; unknown fields are errors."""
    out: Record = {}
    for name, value in raw.items():
        if name == "attributes":
            continue
        f = sobject.field(name)
        if f is None:
            raise WriteError(
                "INVALID_FIELD",
                f"No such column '{name}' on sobject of type {sobject.name}",
                [name],
            )
        coerced = _coerce(f, value, from_csv)
        if coerced is not _SKIP:
            out[f.name] = coerced
    return out


class Writer:
    """Applies validated writes to the state (callers hold `state.lock`)."""

    def __init__(self, state: EmulatorState, faults: FaultPlan):
        self.state, self.faults = state, faults

    def _check_writable(self, sobject: SObject, values: Record, existing: Record | None) -> None:
        bad = []
        for name in values:
            f = sobject.field(name)
            assert f is not None
            if f.type == "id":
                continue
            # Even an unchanged value is refused: the API checks the field, not the value.
            if not (f.updateable if existing is not None else f.createable):
                bad.append(name)
        if bad:
            raise WriteError(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {', '.join(bad)}.",
                bad,
            )

    def _check_refs_and_unique(self, sobject: SObject, rec: Record, own_id: str | None) -> None:
        table = self.state.records[sobject.name]
        for f in sobject.fields:
            value = rec.get(f.name)
            if value is None:
                continue
            if f.type == "reference" and not any(
                value in self.state.records[t] for t in f.reference_to
            ):
                raise WriteError(
                    "INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {f.name}", [f.name]
                )
            if f.unique:
                clash = next(
                    (i for i, r in table.items() if i != own_id and r.get(f.name) == value), None
                )
                if clash:
                    raise WriteError(
                        "DUPLICATE_VALUE",
                        f"duplicate value found: {f.name} duplicates value on record with id: {clash}",
                        [f.name],
                    )

    def _campaign_member_rules(self, rec: Record, own_id: str | None) -> None:
        if rec.get("ContactId") and rec.get("LeadId"):
            rec["LeadId"] = None  # documented: with both, only ContactId is stored
        if not rec.get("ContactId") and not rec.get("LeadId"):
            raise WriteError(
                "REQUIRED_FIELD_MISSING",
                "Required fields are missing: [ContactId, LeadId]",
                ["ContactId", "LeadId"],
            )
        statuses = self.state.campaign_statuses.get(rec["CampaignId"], {})
        if rec.get("Status") is None and statuses:
            rec["Status"] = next(iter(statuses))
        if rec.get("Status") not in statuses:
            raise WriteError(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"Status: bad value for restricted picklist field: {rec.get('Status')}",
                ["Status"],
            )
        rec["HasResponded"] = statuses[rec["Status"]]
        person = rec.get("ContactId") or rec.get("LeadId")
        for other_id, other in self.state.records["CampaignMember"].items():
            if (
                other_id != own_id
                and other["CampaignId"] == rec["CampaignId"]
                and person in (other.get("ContactId"), other.get("LeadId"))
            ):
                raise WriteError("DUPLICATE_VALUE", "Already a campaign member.", [])

    def _save(self, sobject: SObject, values: Record, existing: Record | None) -> tuple[str, bool]:
        self._check_writable(sobject, values, existing)
        if existing is None:
            rec: Record = {f.name: f.default for f in sobject.fields}
            rec.update(values)
            missing = [f.name for f in sobject.required if rec.get(f.name) in (None, "")]
            if missing:
                raise WriteError(
                    "REQUIRED_FIELD_MISSING",
                    f"Required fields are missing: [{', '.join(missing)}]",
                    missing,
                )
        else:
            rec = {**existing, **values}
        own_id = existing["Id"] if existing else None
        if sobject.name == "CampaignMember":
            self._campaign_member_rules(rec, own_id)
        self._check_refs_and_unique(sobject, rec, own_id)
        failure = self.faults.row_failure(sobject.name, rec)
        if failure:
            raise WriteError(failure.code, failure.message)
        now = self.state.stamp()
        if existing is None:
            rec.update(Id=self.state.ids.new(sobject.name), IsDeleted=False, CreatedDate=now)
        rec.update(LastModifiedDate=now, SystemModstamp=now)
        self.state.records[sobject.name][rec["Id"]] = rec
        return rec["Id"], existing is None

    def insert(self, sobject: SObject, raw: dict[str, Any], from_csv: bool) -> tuple[str, bool]:
        values = clean(sobject, raw, from_csv)
        if "Id" in values:
            raise WriteError(
                "INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call", ["Id"]
            )
        return self._save(sobject, values, None)

    def upsert(
        self, sobject: SObject, ext_field: str, raw: dict[str, Any], from_csv: bool
    ) -> tuple[str, bool]:
        values = clean(sobject, raw, from_csv)
        key_field = sobject.field(ext_field)
        assert key_field is not None
        key = values.get(key_field.name)
        if key in (None, ""):
            raise WriteError(
                "MISSING_ARGUMENT", f"{key_field.name} not specified", [key_field.name]
            )
        table = self.state.records[sobject.name]
        matches = [r for r in table.values() if r.get(key_field.name) == key]
        if len(matches) > 1:
            raise WriteError(
                "MULTIPLE_RECORDS_FOUND",
                f"{key_field.name} matched more than one record",
                [key_field.name],
            )
        return self._save(sobject, values, matches[0] if matches else None)

    def delete(self, record_id: str) -> str:
        if not _ID.match(record_id or ""):
            raise WriteError("MALFORMED_ID", f"malformed id {record_id}", ["Id"])
        for name, table in self.state.records.items():
            rec = table.get(record_id)
            if rec is None:
                continue
            failure = self.faults.row_failure(name, rec)
            if failure:
                raise WriteError(failure.code, failure.message)
            del table[record_id]
            if name in ("Contact", "Lead"):  # members go with their person, as in a real org
                members = self.state.records["CampaignMember"]
                for mid in [
                    m
                    for m, r in members.items()
                    if record_id in (r.get("ContactId"), r.get("LeadId"))
                ]:
                    del members[mid]
            return name
        raise WriteError("ENTITY_IS_DELETED", "entity is deleted", [])


def to_json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"
    if isinstance(value, date):
        return value.isoformat()
    return value


def to_csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(to_json_value(value))
