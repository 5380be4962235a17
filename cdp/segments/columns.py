"""Which columns a spec may name, and the checks that turn a typo into a one-line error.

Event filters run on `stitched_events`: the built-in flattened columns plus every configured
extra param / user property column. CRM conditions run on `profiles`: its fixed columns plus
the configured CRM attributes. Types are the filter vocabulary: string, int, double, bool.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING

from cdp.segments.filters import BUILTIN_COLUMNS, EventFilter, ParamFilter

if TYPE_CHECKING:
    from cdp.config import CrmSettings, StagingSettings

KnownColumns = Mapping[str, str]

PROFILE_COLUMNS: dict[str, str] = {
    "uid": "string",
    "crm_record_id": "string",
    "record_type": "string",
    "email": "string",
    "opted_out": "bool",
    "customer_type": "string",
    "device_count": "int",
    "crm_matched": "bool",
}

_NUMERIC = {"int", "double"}
_STRING_OPS = {"contains", "prefix", "regex"}
_NUMERIC_OPS = {"gt", "gte", "lt", "lte"}


def event_columns(
    staging: StagingSettings | None = None, extra: Mapping[str, str] | Iterable[str] | None = None
) -> dict[str, str]:
    """Built-in `stitched_events` columns + configured extra params/user properties (+ `extra`)."""
    known = dict(BUILTIN_COLUMNS)
    if staging is not None:
        for column in [*staging.extra_params, *staging.user_properties]:
            known[column.column_name] = column.type
    known.update(as_known(extra))
    return known


def profile_columns(
    crm: CrmSettings | None = None, extra: Mapping[str, str] | Iterable[str] | None = None
) -> dict[str, str]:
    known = dict(PROFILE_COLUMNS)
    if crm is not None:
        known.update({name: crm.attribute_type(name) for name in crm.attributes})
    known.update(as_known(extra))
    return known


def as_known(columns: Mapping[str, str] | Iterable[str] | None) -> dict[str, str]:
    """A name->type mapping from either a mapping or bare names (bare names are strings)."""
    if columns is None:
        return {}
    if isinstance(columns, Mapping):
        return dict(columns)
    return {name: "string" for name in columns}


def filter_problem(flt: ParamFilter, known: KnownColumns) -> str | None:
    """Why `flt` cannot apply to the known columns, or None."""
    if flt.param not in known:
        names = ", ".join(sorted(known))
        return f"unknown column {flt.param!r}; expected one of: {names}"
    actual = known[flt.param]
    if (
        flt.type is not None
        and flt.type != actual
        and not (flt.type in _NUMERIC and actual in _NUMERIC)
    ):
        return f"column {flt.param!r} is {actual}, not {flt.type}"
    [(op, value)] = flt.operators().items()
    if op in _STRING_OPS and actual != "string":
        return f"operator {op!r} needs a string column; {flt.param!r} is {actual}"
    if op in _NUMERIC_OPS and actual not in _NUMERIC:
        return f"operator {op!r} needs a numeric column; {flt.param!r} is {actual}"
    values = value if isinstance(value, list) else [value]
    if actual == "string" and any(not isinstance(v, str) for v in values):
        return f"column {flt.param!r} is a string: quote the value(s) {values!r}"
    if actual in _NUMERIC and any(isinstance(v, str | bool) for v in values):
        return f"column {flt.param!r} is {actual}: the value(s) {values!r} must be numbers"
    if actual == "bool" and any(not isinstance(v, bool) for v in values):
        return f"column {flt.param!r} is a bool: the value(s) {values!r} must be true or false"
    return None


def event_filter_problems(
    flt: EventFilter, known: KnownColumns, where: str
) -> Iterator[tuple[str, str]]:
    """(field path, problem) for each bad param filter of an event filter at `where`."""
    for i, param_filter in enumerate(flt.where):
        problem = filter_problem(param_filter, known)
        if problem:
            yield f"{where}.where.{i}.param", problem
