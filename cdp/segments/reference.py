"""Pure-Python matching of event filters: the independent twin of the SQL, for property tests.

SQL semantics are mirrored on purpose: a comparison with a missing (NULL) value is not a match,
whatever the operator (`not_equals` included).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cdp.regex import compile_re2
from cdp.segments.filters import EventFilter, ParamFilter


def param_matches(flt: ParamFilter, value: Any) -> bool:
    if value is None:
        return False
    [(op, expected)] = flt.operators().items()
    if op == "equals":
        return bool(value == expected)
    if op == "not_equals":
        return bool(value != expected)
    if op == "in":
        assert isinstance(expected, list)
        return value in expected
    if op == "contains":
        return str(expected) in value
    if op == "prefix":
        return bool(value.startswith(str(expected)))
    if op == "regex":
        return compile_re2(str(expected)).search(value) is not None  # the warehouses' engine
    bound = float(expected)  # type: ignore[arg-type]
    return {"gt": value > bound, "gte": value >= bound, "lt": value < bound, "lte": value <= bound}[
        op
    ]


def event_matches(flt: EventFilter, row: Mapping[str, Any]) -> bool:
    return row.get("event_name") in flt.event and all(
        param_matches(f, row.get(f.param)) for f in flt.where
    )
