"""Hypothesis strategies and table builders for audience/trigger/funnel tests (one module)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
from hypothesis import strategies as st

from cdp.backends.base import Backend
from tests.staged_schema import STITCHED_EVENTS_SCHEMA

AS_OF = datetime(2024, 5, 20, 12, 0, tzinfo=UTC)
AS_OF_US = int(AS_OF.timestamp()) * 1_000_000
HOUR_US = 3_600 * 1_000_000
DAY_US = 24 * HOUR_US


PROFILE_SCHEMA = pa.schema(
    [
        ("uid", pa.string()),
        ("crm_record_id", pa.string()),
        ("record_type", pa.string()),
        ("email", pa.string()),
        ("opted_out", pa.bool_()),
        ("customer_type", pa.string()),
        ("device_count", pa.int64()),
        ("first_seen", pa.timestamp("us")),
        ("last_seen", pa.timestamp("us")),
        ("crm_matched", pa.bool_()),
    ]
)


def event_row(i: int, **values: Any) -> dict[str, Any]:
    """A full stitched_events row; `event_timestamp` (µs) drives event_ts/event_date."""
    ts = int(values.get("event_timestamp", AS_OF_US))
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ts)
    cid = values.get("cid", f"c-{values.get('stitched_uid') or 'anon'}")
    session = values.get("ga_session_id", 1)
    row: dict[str, Any] = {name: None for name in STITCHED_EVENTS_SCHEMA.names}
    row.update(
        event_key=f"k{i:06d}",
        event_ts=moment,
        event_date=moment.date(),
        shard_date=moment.strftime("%Y%m%d"),
        is_provisional=False,
        cid=cid,
        ga_session_id=session,
        session_key=f"{cid}.{session}",
        device_category="desktop",
        analytics_storage="Yes",
        attribution="login",
    )
    row.update(values)
    row["event_timestamp"] = ts
    return row


def events_table(rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    rows = [event_row(i, **r) for i, r in enumerate(rows)]
    return pa.Table.from_pylist(rows, schema=STITCHED_EVENTS_SCHEMA)


def profile_row(uid: str, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {name: None for name in PROFILE_SCHEMA.names}
    row.update(uid=uid, crm_record_id=f"003{uid}", record_type="Contact", opted_out=False,
               customer_type="prospect", device_count=1, crm_matched=True)  # fmt: skip
    row.update(values)
    return row


def load(
    backend: Backend, events: Iterable[Mapping[str, Any]], profiles: Iterable[Mapping[str, Any]]
) -> None:
    backend.load_arrow("stitched_events", events_table(events), mode="replace")
    backend.load_arrow(
        "profiles", pa.Table.from_pylist(list(profiles), schema=PROFILE_SCHEMA), mode="replace"
    )


# ---- hypothesis ---------------------------------------------------------------------------

UIDS = ["u1", "u2", "u3", "u4", "u5"]
EVENT_NAMES = ["page_view", "tab_click", "test_drive_click"]
PATHS = ["/models/ev9", "/models/ev6", "/showrooms/yeouido", "/", None]
TABS = ["exterior", "driving", "accessory", None]


@st.composite
def event_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    n = draw(st.integers(min_value=0, max_value=40))
    rows = []
    for _ in range(n):
        rows.append(
            {
                "stitched_uid": draw(st.sampled_from([*UIDS, None])),
                "event_name": draw(st.sampled_from(EVENT_NAMES)),
                "page_path": draw(st.sampled_from(PATHS)),
                "tab_name": draw(st.sampled_from(TABS)),
                "engagement_time_msec": draw(st.one_of(st.none(), st.integers(0, 5000))),
                "analytics_storage": draw(st.sampled_from(["Yes", "Yes", "No", None])),
                # Whole hours, some after as_of, some exactly on window edges.
                "event_timestamp": AS_OF_US
                - draw(st.integers(min_value=-24, max_value=24 * 20)) * HOUR_US,
            }
        )
    return rows


@st.composite
def profile_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    chosen = draw(st.lists(st.sampled_from(UIDS), unique=True, max_size=len(UIDS)))
    return [
        profile_row(
            uid,
            opted_out=draw(st.booleans()),
            customer_type=draw(st.sampled_from(["prospect", "owner", None])),
        )
        for uid in chosen
    ]


def param_filters() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.builds(
            lambda v: {"param": "page_path", "prefix": v},
            st.sampled_from(["/models/", "/models/ev9", "/show"]),
        ),
        st.builds(
            lambda v: {"param": "page_path", "equals": v}, st.sampled_from(["/", "/models/ev6"])
        ),
        st.builds(
            lambda v: {"param": "page_path", "not_equals": v}, st.sampled_from(["/", "/models/ev6"])
        ),
        st.builds(
            lambda v: {"param": "page_path", "contains": v}, st.sampled_from(["ev", "yeouido"])
        ),
        st.builds(
            lambda v: {"param": "page_path", "regex": v},
            st.sampled_from(["^/models/ev[69]$", "room"]),
        ),
        st.builds(
            lambda v: {"param": "tab_name", "in": v},
            st.lists(st.sampled_from(TABS[:3]), min_size=1, unique=True),
        ),
        st.builds(
            lambda v: {"param": "engagement_time_msec", "gte": v}, st.sampled_from([0, 1000, 2500])
        ),
    )


def windows() -> st.SearchStrategy[dict[str, Any] | None]:
    return st.one_of(
        st.none(),
        st.builds(lambda d: {"last": f"{d}d"}, st.integers(1, 14)),
        st.builds(lambda h: {"last": {"hours": h}}, st.integers(1, 72)),
        st.builds(
            lambda a, b: {"between": {"start": str((AS_OF - timedelta(days=a)).date()), "end": str((AS_OF - timedelta(days=b)).date())}},
            st.integers(3, 15), st.integers(-1, 2),
        ),
    )  # fmt: skip


def counts() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.builds(lambda n: {"gte": n}, st.integers(0, 4)),
        st.builds(lambda n: {"lte": n}, st.integers(0, 3)),
        st.builds(lambda a, b: {"between": [a, a + b]}, st.integers(0, 3), st.integers(0, 2)),
    )


@st.composite
def event_leaf(draw: st.DrawFn) -> dict[str, Any]:
    leaf: dict[str, Any] = {
        "event": draw(st.lists(st.sampled_from(EVENT_NAMES), min_size=1, max_size=2, unique=True)),
        "where": draw(st.lists(param_filters(), max_size=2)),
        "count": draw(counts()),
    }
    window = draw(windows())
    if window is not None:
        leaf["window"] = window
    if draw(st.integers(0, 4)) == 0:
        return {"last_event": {"event": leaf["event"], "where": leaf["where"],
                               "within": f"{draw(st.integers(1, 10))}d"}}  # fmt: skip
    return {"events": leaf}


def conditions(max_leaves: int = 6) -> st.SearchStrategy[dict[str, Any]]:
    return st.recursive(
        event_leaf(),
        lambda children: st.one_of(
            st.builds(lambda xs: {"all": xs}, st.lists(children, min_size=1, max_size=3)),
            st.builds(lambda xs: {"any": xs}, st.lists(children, min_size=1, max_size=3)),
            st.builds(lambda x: {"not": x}, children),
        ),
        max_leaves=max_leaves,
    )


@st.composite
def audience_specs(draw: st.DrawFn) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "kind": "audience",
        "name": "prop_test",
        "condition": draw(conditions()),
    }
    population: dict[str, Any] = {}
    if draw(st.booleans()):
        population["include_opted_out"] = True
    if draw(st.booleans()):
        population["include_consent_denied"] = True
    if draw(st.integers(0, 3)) == 0:
        population["crm"] = [{"param": "customer_type", "equals": "prospect"}]
    if population:
        spec["population"] = population
    if draw(st.booleans()):
        spec["holdout_percent"] = draw(st.sampled_from([10, 25, 50]))
    return spec


# ---- a BigQuery backend that renders and records instead of running ----------------------


class RecordingBigQuery:
    """Wraps a render-only BigQueryBackend: every statement is rendered, parsed and recorded;
    queries answer from `answers` (first key found in the SQL wins), else an empty table."""

    def __init__(self, backend: Any, answers: dict[str, pa.Table] | None = None) -> None:
        self.backend = backend
        self.answers = answers or {}
        self.statements: list[str] = []

    def install(self, monkeypatch: Any) -> None:
        for name in ("execute", "query", "atomic", "load_arrow", "table_exists"):
            monkeypatch.setattr(self.backend, name, getattr(self, name))

    def _render(self, sql: Any) -> str:
        import sqlglot

        text = self.backend.render(sql)
        sqlglot.parse(text, read="bigquery", error_level=sqlglot.ErrorLevel.RAISE)
        self.statements.append(text)
        return text

    def execute(self, sql: Any, params: Any = None) -> None:
        self._render(sql)

    def atomic(self, statements: Any, params: Any = None) -> None:
        for statement in statements:
            self._render(statement)

    def query(self, sql: Any, params: Any = None) -> pa.Table:
        text = self._render(sql)
        for key, table in self.answers.items():
            if key in text:
                return table
        return pa.table({"x": pa.array([], pa.int64())})

    def load_arrow(self, table: str, data: Any, mode: str = "append") -> int:
        self.statements.append(f"-- load {table}")
        return int(data.num_rows)

    def table_exists(self, table: str) -> bool:
        return True
