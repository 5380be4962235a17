"""Property: audience membership from the SQL on DuckDB equals the pure-Python reference."""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, given, settings

from cdp.audiences import AudienceSpec, run_audience
from cdp.audiences.reference import evaluate
from cdp.backends.duckdb import DuckDBBackend
from cdp.specs import validate
from tests.segment_strategies import AS_OF, AS_OF_US, audience_specs, event_rows, load, profile_rows


# CDP_PROPERTY_EXAMPLES=500 for a longer soak; 50 keeps the suite quick (CPU is shared).
@settings(
    max_examples=int(os.environ.get("CDP_PROPERTY_EXAMPLES", "50")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(spec_data=audience_specs(), events=event_rows(), profiles=profile_rows())
def test_sql_membership_equals_reference(
    spec_data: dict[str, Any], events: list[dict[str, Any]], profiles: list[dict[str, Any]]
) -> None:
    spec = validate(AudienceSpec, spec_data)
    backend = DuckDBBackend(":memory:")
    try:
        load(backend, events, profiles)
        run_audience(backend, spec, AS_OF)
        rows = backend.query("SELECT uid, is_holdout FROM audience_members").to_pylist()
        assert {r["uid"]: r["is_holdout"] for r in rows} == evaluate(
            spec, events, profiles, AS_OF_US
        )
    finally:
        backend.close()
