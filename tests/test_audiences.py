"""Audiences on DuckDB: the shipped examples, snapshots and history, holdout, preview, golden SQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from cdp.audiences import AudienceSpec, preview_audience, run_audience, run_audiences
from cdp.audiences.compile import evaluate_select, holdout_threshold
from cdp.audiences.reference import evaluate, in_holdout
from cdp.backends.bigquery import BigQueryBackend
from cdp.backends.duckdb import DuckDBBackend
from cdp.segments.loader import load_specs
from cdp.specs import validate
from tests.golden import assert_golden
from tests.segment_strategies import AS_OF, AS_OF_US, DAY_US, HOUR_US, load, profile_row

SPECS = load_specs(
    Path(__file__).parent.parent / "fixtures" / "specs", {"tab_name": "string", "model": "string"}
)
EV9 = SPECS.audience("ev9_interest")
YEOUIDO = SPECS.audience("yeouido_showroom")


def views(
    uid: str, path: str, n: int, *, days_ago: float = 1, **extra: Any
) -> list[dict[str, Any]]:
    return [
        dict(stitched_uid=uid, event_name="page_view", page_path=path,
             event_timestamp=AS_OF_US - int(days_ago * DAY_US) - i * HOUR_US, **extra)
        for i in range(n)
    ]  # fmt: skip


def members(duck: DuckDBBackend, audience: str) -> dict[str, bool]:
    rows = duck.query(
        f"SELECT uid, is_holdout FROM audience_members WHERE audience = '{audience}'"
    ).to_pylist()
    return {r["uid"]: r["is_holdout"] for r in rows}


def test_ev9_interest(duck: DuckDBBackend) -> None:
    events = [
        *views("viewer3", "/models/ev9", 3),  # 3 views in 14 days: in
        *views("viewer2", "/models/ev9", 2),  # 2 views: out
        *views("old", "/models/ev9", 3, days_ago=20),  # outside the window: out
        *views("other_model", "/models/ev6", 5),  # wrong model page: out
        dict(stitched_uid="tabber", event_name="tab_click", tab_name="driving", model="ev9",
             event_timestamp=AS_OF_US - DAY_US),  # clicked a tab: in
        dict(stitched_uid="tab_ev6", event_name="tab_click", tab_name="driving", model="ev6",
             event_timestamp=AS_OF_US - DAY_US),  # other model's tab: out
        *views("opted", "/models/ev9", 3),  # opted out in CRM: out
        *views("denied", "/models/ev9", 3, analytics_storage="No"),  # consent denied: out
        *views(None, "/models/ev9", 5),  # type: ignore[arg-type]  # unidentified: out
    ]  # fmt: skip
    people = ["viewer3", "viewer2", "old", "other_model", "tabber", "tab_ev6", "denied"]
    profiles = [profile_row(u) for u in people] + [profile_row("opted", opted_out=True)]
    load(duck, events, profiles)
    result = run_audience(duck, EV9, AS_OF)
    assert set(members(duck, "ev9_interest")) == {"viewer3", "tabber"}
    assert (result.members, result.entered, result.exited) == (2, 2, 0)
    assert str(result).startswith(
        "ev9_interest: 2 members (0 holdout, 2 deliverable), +2 / -0 as of "
    )
    assert members(duck, "ev9_interest") == evaluate(EV9, events, profiles, AS_OF_US)
    row = duck.query("SELECT * FROM audience_members WHERE uid = 'viewer3'").to_pylist()[0]
    assert row["qualifying_events"] == 3
    assert row["reason"] == "ev9_page_views_14d=3; ev9_tab_clicks_14d=0"
    assert row["crm_record_id"] == "003viewer3"


def test_yeouido_showroom(duck: DuckDBBackend) -> None:
    events = (
        views("a", "/showrooms/yeouido", 1)
        + views("b", "/showrooms/gangnam", 4)
        + views("c", "/showrooms/yeouido", 1, days_ago=40)
    )
    load(duck, events, [profile_row(u) for u in "abc"])
    run_audiences(duck, [YEOUIDO], AS_OF)
    assert set(members(duck, "yeouido_showroom")) == {"a"}


def test_membership_history_and_reproducible_as_of(duck: DuckDBBackend) -> None:
    events = views("a", "/showrooms/yeouido", 1, days_ago=25) + views(
        "b", "/showrooms/yeouido", 1, days_ago=2
    )
    load(duck, events, [profile_row("a"), profile_row("b")])
    first = run_audience(duck, YEOUIDO, AS_OF)
    assert (first.members, first.entered, first.exited) == (2, 2, 0)
    entered_at = duck.scalar("SELECT entered_at FROM audience_members WHERE uid = 'b'")
    # Ten days later, a's view has left the 30-day window; b stays with its original entered_at.
    later = run_audience(duck, YEOUIDO, AS_OF + timedelta(days=10))
    assert (later.members, later.entered, later.exited) == (1, 0, 1)
    assert duck.scalar("SELECT entered_at FROM audience_members WHERE uid = 'b'") == entered_at
    changes = duck.query(
        "SELECT uid, change, reason FROM audience_changes ORDER BY changed_at, uid"
    ).to_pylist()
    assert [(c["uid"], c["change"]) for c in changes] == [
        ("a", "entered"),
        ("b", "entered"),
        ("a", "exited"),
    ]
    assert changes[-1]["reason"] == "no longer matches: yeouido_views_30d=0"
    # Same as_of again: same membership, no changes.
    again = run_audience(duck, YEOUIDO, AS_OF + timedelta(days=10))
    assert (again.members, again.entered, again.exited) == (1, 0, 0)
    # Opting out removes b with a reason.
    load(duck, events, [profile_row("a"), profile_row("b", opted_out=True)])
    gone = run_audience(duck, YEOUIDO, AS_OF + timedelta(days=10))
    assert (gone.members, gone.exited) == (0, 1)
    assert duck.scalar(
        "SELECT reason FROM audience_changes WHERE change = 'exited' AND uid = 'b'"
    ) == ("no longer matches: left the population")
    assert duck.scalar("SELECT COUNT(*) FROM audience_runs") == 4


def test_holdout_is_deterministic_and_portable(duck: DuckDBBackend) -> None:
    uids = [f"user{i:03d}" for i in range(200)]
    events = [e for u in uids for e in views(u, "/models/ev9", 3)]
    load(duck, events, [profile_row(u) for u in uids])
    run_audience(duck, EV9, AS_OF)
    stored = members(duck, "ev9_interest")
    assert stored == {u: in_holdout(u, "ev9_interest", 10) for u in uids}
    assert 5 <= sum(stored.values()) <= 40  # ~10% of 200
    assert holdout_threshold(50) == "8000"
    run_audience(duck, EV9, AS_OF)
    assert members(duck, "ev9_interest") == stored


def test_preview(duck: DuckDBBackend) -> None:
    load(
        duck,
        views("a", "/models/ev9", 3) + views("b", "/models/ev9", 4),
        [profile_row("a"), profile_row("b")],
    )
    preview = preview_audience(duck, EV9, AS_OF, sample=1)
    assert (preview.size, preview.entered, preview.exited, preview.bytes_scanned) == (2, 2, 0, None)
    assert len(preview.sample) == 1 and preview.sample[0]["reason"].startswith(
        "ev9_page_views_14d="
    )
    assert not duck.scalar("SELECT COUNT(*) FROM audience_members")  # a preview writes nothing
    run_audience(duck, EV9, AS_OF)
    assert (
        preview_audience(duck, EV9, AS_OF).entered,
        preview_audience(duck, EV9, AS_OF).exited,
    ) == (0, 0)
    assert "2 members" in str(preview)


def test_preview_reports_bigquery_bytes(
    bq_renderer: BigQueryBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []

    def query(sql: Any, params: Any = None) -> Any:
        import pyarrow as pa

        seen.append(bq_renderer.render(sql))
        if "COUNTIF" in seen[-1] and "size" in seen[-1]:
            return pa.table({"size": [3], "holdout": [0], "entered": [3], "exited": [0]})
        if "MAX(event_timestamp)" in seen[-1]:
            return pa.table({"m": [AS_OF_US]})
        return pa.table({"uid": ["a"], "crm_record_id": ["x"], "qualifying_events": [3], "last_event_at": [None],
                         "is_holdout": [False], "reason": ["r"]})  # fmt: skip

    monkeypatch.setattr(bq_renderer, "execute", lambda sql, params=None: None)
    monkeypatch.setattr(bq_renderer, "query", query)
    monkeypatch.setattr(bq_renderer, "dry_run_bytes", lambda sql, params=None: 123_456)
    preview = preview_audience(bq_renderer, EV9)
    assert (preview.size, preview.bytes_scanned) == (3, 123_456)
    assert "`demo-project`.cdp.stitched_events" in seen[-1], seen[-1]


def test_crm_user_property_recency_and_not(duck: DuckDBBackend) -> None:
    spec = validate(
        AudienceSpec,
        {
            "name": "mixed",
            "population": {"crm": [{"param": "customer_type", "in": ["prospect"]}]},
            "condition": {
                "all": [
                    {"last_event": {"event": "page_view", "within": "7d", "older_than": "1d"}},
                    {"not": {"events": {"event": "test_drive_submit"}}},
                    {"user_property": {"param": "model", "equals": "ev9"}},
                ]
            },
        },
    )
    events = [
        *views("in", "/", 1, days_ago=3, model="ev6"),
        dict(
            stitched_uid="in",
            event_name="user_engagement",
            model="ev9",
            event_timestamp=AS_OF_US - HOUR_US,
        ),
        dict(stitched_uid="in", event_name="user_engagement", model=None, event_timestamp=AS_OF_US),
        *views("recent", "/", 1, days_ago=0.5, model="ev9"),  # last view too recent (older_than 1d)
        *views("submitted", "/", 1, days_ago=3, model="ev9"),
        dict(
            stitched_uid="submitted",
            event_name="test_drive_submit",
            event_timestamp=AS_OF_US - DAY_US,
        ),
        *views("owner", "/", 1, days_ago=3, model="ev9"),  # not a prospect
    ]
    profiles = [
        profile_row("in"),
        profile_row("recent"),
        profile_row("submitted"),
        profile_row("owner", customer_type="owner"),
    ]
    load(duck, events, profiles)
    run_audience(duck, spec, AS_OF)
    assert set(members(duck, "mixed")) == {"in"} == set(evaluate(spec, events, profiles, AS_OF_US))


def test_between_dates_window(duck: DuckDBBackend) -> None:
    day = AS_OF.date() - timedelta(days=3)
    spec = validate(AudienceSpec, {"name": "dated", "condition": {"events": {
        "event": "page_view", "window": {"between": {"start": str(day), "end": str(day), "time_zone": "Asia/Seoul"}}}}})  # fmt: skip
    # Seoul is UTC+9: 2024-05-17 00:00 KST = 2024-05-16 15:00 UTC.
    start_us = AS_OF_US - 3 * DAY_US - 12 * HOUR_US - 9 * HOUR_US  # 2024-05-16 15:00 UTC
    events = [
        dict(stitched_uid="first_us", event_name="page_view", event_timestamp=start_us),
        dict(stitched_uid="before", event_name="page_view", event_timestamp=start_us - 1),
        dict(stitched_uid="last_us", event_name="page_view", event_timestamp=start_us + DAY_US - 1),
        dict(stitched_uid="after", event_name="page_view", event_timestamp=start_us + DAY_US),
    ]
    load(duck, events, [profile_row(str(e["stitched_uid"])) for e in events])
    run_audience(duck, spec, AS_OF)
    assert set(members(duck, "dated")) == {"first_us", "last_us"}


@pytest.mark.parametrize("name", ["ev9_interest", "yeouido_showroom"])
def test_golden_sql(name: str, duck: DuckDBBackend, bq_renderer: BigQueryBackend) -> None:
    tree = evaluate_select(SPECS.audience(name))
    assert_golden(f"audience_{name}", "bigquery", bq_renderer.render(tree))
    assert_golden(f"audience_{name}", "duckdb", duck.render(tree))


def test_every_bigquery_statement_of_a_run_parses(
    bq_renderer: BigQueryBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyarrow as pa

    from tests.segment_strategies import RecordingBigQuery

    runs = pa.table({"members": [1], "holdout": [0], "entered": [1], "exited": [0]})
    recorder = RecordingBigQuery(bq_renderer, {"FROM `demo-project`.cdp.audience_runs WHERE": runs})
    recorder.install(monkeypatch)
    result = run_audience(bq_renderer, EV9, AS_OF)
    assert result.members == 1
    text = "\n".join(recorder.statements)
    assert "CREATE TABLE IF NOT EXISTS `demo-project`.cdp.audience_members" in text
    assert "BEGIN" not in text  # the transaction is the backend's business
    assert sum(s.startswith("INSERT INTO") for s in recorder.statements) == 4


def test_the_default_clock_ignores_events_from_a_device_clock_ahead(duck: DuckDBBackend) -> None:
    """The latest event, but none after the wall clock: GA4 timestamps come from the client."""
    from datetime import UTC, datetime

    from cdp.segments.clock import resolve_as_of
    from cdp.segments.durations import to_micros

    ahead = to_micros(datetime.now(UTC) + timedelta(days=1))
    load(duck, [dict(stitched_uid="a", event_name="page_view", event_timestamp=AS_OF_US),
                dict(stitched_uid="b", event_name="page_view", event_timestamp=ahead)], [])  # fmt: skip
    assert resolve_as_of(duck, None) == AS_OF_US
