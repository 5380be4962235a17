"""Validating and writing SFMC data extension rows (shared by the sync and async APIs)."""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Any

from cdp.sandbox.salesforce.schema import DataExtension, DeField

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")


class RowError(Exception):
    def __init__(self, message: str, errorcode: int = 10000, code: str = "ValidationError"):
        super().__init__(message)
        self.message, self.errorcode, self.code = message, errorcode, code


def de_guid(key: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"de:{key}")).upper()


def _coerce(f: DeField, value: Any) -> Any:
    if value is None or value == "":
        if f.primary_key or not f.nullable:
            raise RowError(f"{f.name}: The value for column [{f.name}] is required.")
        return None
    bad = RowError(f"{f.name}: The value for column [{f.name}] is not a valid {f.type}: {value}")
    if f.type == "Boolean":
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "false", "1", "0"):
            return str(value).lower() in ("true", "1")
        raise bad
    if f.type in ("Number", "Decimal"):
        if isinstance(value, bool):
            raise bad
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise bad from None
        if f.type == "Number":
            if number != int(number):
                raise bad
            return int(number)
        return number
    if f.type == "Date":
        try:
            return date.fromisoformat(str(value)[:10]).isoformat() + str(value)[10:]
        except ValueError:
            raise bad from None
    if isinstance(value, dict | list):
        raise bad
    text = str(value)
    if f.type == "EmailAddress" and not _EMAIL.match(text):
        raise RowError(f"{f.name}: The value for column [{f.name}] is not a valid email address.")
    if f.length is not None and len(text) > f.length:
        raise RowError(f"{f.name}: The value for column [{f.name}] is too long (max {f.length}).")
    return text


def validate_row(de: DataExtension, row: dict[str, Any]) -> dict[str, Any]:
    """Coerce a {column: value} row; unknown columns, bad types and missing keys are errors."""
    out: dict[str, Any] = {}
    for name, value in row.items():
        f = de.field(name)
        if f is None:
            raise RowError(f"Invalid column name '{name}' for data extension '{de.key}'.")
        out[f.name] = _coerce(f, value)
    for pk in de.primary_keys:
        if out.get(pk) in (None, ""):
            raise RowError(f"Primary key '{pk}' does not exist.")  # [3p/observed] wording, MC-ERR
    return out


def key_of(de: DataExtension, row: dict[str, Any]) -> tuple[str, ...]:
    return tuple(
        str(row[pk]).lower() for pk in de.primary_keys
    )  # SFMC keys compare case-insensitively [derived]


def upsert(de: DataExtension, row: dict[str, Any]) -> None:
    key = key_of(de, row)
    base = de.rows.get(key) or {f.name: None for f in de.fields}
    merged = {**base, **row}
    missing = [f.name for f in de.fields if not f.nullable and merged.get(f.name) is None]
    if missing:
        raise RowError(f"{missing[0]}: The value for column [{missing[0]}] is required.")
    de.rows[key] = merged


def insert(de: DataExtension, row: dict[str, Any]) -> None:
    key = key_of(de, row)
    if key in de.rows:
        raise RowError(
            f"Violation of PRIMARY KEY constraint 'PK_{de_guid(de.key)}'. Cannot insert duplicate key. "
            f"The duplicate key value is ({', '.join(key)}).",
            code="UnexpectedError",
        )
    upsert(de, row)
