"""Funnels on DuckDB: step counts, medians, breakdowns, drop-off audiences, golden SQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdp.backends.bigquery import BigQueryBackend
from cdp.backends.duckdb import DuckDBBackend
from cdp.funnels import FunnelSpec, run_funnels
from cdp.funnels.compile import entries_select, stats_select
from cdp.funnels.reference import entries as reference_entries
from cdp.funnels.run import entries_table
from cdp.segments.loader import load_specs
from cdp.specs import validate
from tests.golden import assert_golden
from tests.segment_strategies import AS_OF, AS_OF_US, DAY_US, events_table, load, profile_row

SPECS = load_specs(
    Path(__file__).parent.parent / "fixtures" / "specs", {"tab_name": "string", "model": "string"}
)
CEJ = SPECS.funnel("cej_test_drive")
MIN_US = 60_000_000
# Steps whose conditions overlap: one page view fits "model page" and "EV9 page" alike.
MODELS = validate(FunnelSpec, {"name": "models", "window": "1d", "breakdown": [], "steps": [
    {"name": "visit", "event": "session_start"},
    {"name": "model_page", "event": "page_view", "where": [{"param": "page_path", "prefix": "/models/"}]},
    {"name": "ev9_page", "event": "page_view", "where": [{"param": "page_path", "prefix": "/models/ev9"}]},
    {"name": "another_model", "event": "page_view", "where": [{"param": "page_path", "prefix": "/models/"}]},
    {"name": "click", "event": "test_drive_click"}]})  # fmt: skip


def journey(uid: str | None, steps: int, *, start: int, device: str = "desktop", gap_min: int = 2,
            cid: str | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """A visitor going through the first `steps` CEJ steps, `gap_min` minutes apart."""
    names: list[dict[str, Any]] = [
        {"event_name": "session_start"},
        {"event_name": "page_view", "page_path": "/models/ev9"},
        {"event_name": "test_drive_click", "model": "ev9"},
        {"event_name": "form_start", "page_path": "/test-drive/form"},
        {"event_name": "test_drive_submit", "model": "ev9"},
    ]
    return [
        dict(stitched_uid=uid, cid=cid or f"c-{uid}", device_category=device,
             event_timestamp=start + k * gap_min * MIN_US, **names[k])
        for k in range(steps)
    ]  # fmt: skip


def test_cej_funnel_counts_medians_and_breakdown(duck: DuckDBBackend) -> None:
    start = AS_OF_US - 2 * DAY_US
    events = [
        *journey("a", 5, start=start, gap_min=2),
        *journey("b", 3, start=start, gap_min=4, device="mobile"),
        *journey("c", 2, start=start, device="mobile"),
        *journey(None, 4, start=start, cid="anon1"),  # unidentified visitors count in the report
        *journey("d", 1, start=start - 40 * DAY_US),  # outside the 28-day period
    ]
    load(duck, events, [profile_row(u) for u in "abcd"])
    [report] = run_funnels(duck, [CEJ], AS_OF)
    totals = [(r.step_name, r.reached, r.converted, r.dropped) for r in report.totals]
    assert totals == [
        ("visit", 4, 4, 0),
        ("model_page", 4, 3, 1),
        ("test_drive_click", 3, 2, 1),
        ("form", 2, 1, 1),
        ("submit", 1, 0, 1),
    ]
    # Gaps visit->model_page: a 2m, b 4m, c 2m, anon 2m -> median 120s.
    assert report.totals[0].median_seconds_to_next == 120.0
    mobile = {r.step_name: r.reached for r in report.select(breakdown="mobile")}
    assert mobile == {"visit": 2, "model_page": 2, "test_drive_click": 1, "form": 0, "submit": 0}
    day = report.select(day=events_table(events[:1]).column("event_date")[0].as_py())
    assert [r.reached for r in day] == [4, 4, 3, 2, 1]
    assert "cej_test_drive" in report.table() and "test_drive_click" in report.table()
    stored = duck.scalar("SELECT COUNT(*) FROM funnel_stats WHERE funnel = 'cej_test_drive'")
    assert stored == len(report.rows)


def test_a_step_counts_for_the_latest_entry_only(duck: DuckDBBackend) -> None:
    """One visitor, back on four days, converts on the last: one conversion, not four."""
    first = AS_OF_US - 5 * DAY_US
    events = [e for day in range(3) for e in journey("a", 1, start=first + day * DAY_US)]
    events += journey("a", 5, start=first + 3 * DAY_US, gap_min=2)
    load(duck, events, [profile_row("a")])
    [report] = run_funnels(duck, [CEJ], AS_OF)
    assert [(r.reached, r.converted) for r in report.totals] == [
        (4, 1),
        (1, 1),
        (1, 1),
        (1, 1),
        (1, 0),
    ]
    assert report.totals[0].median_seconds_to_next == 120.0  # the last day's gap, not 3 days'


def test_window_and_order(duck: DuckDBBackend) -> None:
    spec = validate(FunnelSpec, {"name": "f", "window": "1h", "breakdown": [], "steps": [
        {"name": "one", "event": "session_start"}, {"name": "two", "event": "test_drive_click"}]})  # fmt: skip
    start = AS_OF_US - DAY_US
    events = [
        dict(stitched_uid="late", event_name="session_start", event_timestamp=start),
        dict(
            stitched_uid="late", event_name="test_drive_click", event_timestamp=start + 61 * MIN_US
        ),
        dict(stitched_uid="before", event_name="test_drive_click", event_timestamp=start - MIN_US),
        dict(stitched_uid="before", event_name="session_start", event_timestamp=start),
        dict(stitched_uid="ok", event_name="session_start", event_timestamp=start),
        dict(stitched_uid="ok", event_name="test_drive_click", event_timestamp=start + 60 * MIN_US),
    ]
    load(duck, events, [])
    [report] = run_funnels(duck, [spec], AS_OF)
    assert [(r.reached, r.converted) for r in report.totals] == [(3, 1), (1, 0)]


def test_one_event_is_one_step(duck: DuckDBBackend) -> None:
    """A row fitting two consecutive steps counts for one of them: one view of /models/ev9 is
    not also "another model page" (it used to convert with a 0-second gap). Different rows at
    one timestamp still make consecutive steps, whatever their order."""
    start = AS_OF_US - DAY_US
    view = {"event_name": "page_view", "page_path": "/models/ev9"}
    events = [
        dict(stitched_uid="once", event_name="session_start", event_timestamp=start),
        dict(stitched_uid="once", event_timestamp=start + MIN_US, **view),
        # Two views at one time: model page, then EV9 page; a third for "another model page".
        dict(stitched_uid="twice", event_name="session_start", event_timestamp=start),
        *(dict(stitched_uid="twice", event_timestamp=start + MIN_US, **view) for _ in range(3)),
        # Everything at the session's timestamp, the page views listed (and keyed) first.
        *(dict(stitched_uid="tie", event_timestamp=start, **view) for _ in range(3)),
        dict(stitched_uid="tie", event_name="session_start", event_timestamp=start),
        dict(stitched_uid="tie", event_name="test_drive_click", event_timestamp=start),
    ]
    load(duck, events, [])
    [report] = run_funnels(duck, [MODELS], AS_OF)
    assert [(r.reached, r.converted) for r in report.totals] == [
        (3, 3),
        (3, 2),
        (2, 2),
        (2, 1),
        (1, 0),
    ]
    assert report.totals[1].median_seconds_to_next == 0.0  # twice and tie: same-time rows
    rows = events_table(events).to_pylist()
    day = rows[0]["event_date"]
    minute = start + MIN_US
    assert reference_entries(MODELS, rows, AS_OF_US) == {
        ("once", day): [start, minute, None, None, None],
        ("twice", day): [start, minute, minute, minute, None],
        ("tie", day): [start] * 5,
    }


def test_rows_of_nobody_form_no_journey(duck: DuckDBBackend) -> None:
    """Consent-denied rows without a UID have no CID either: with `include_consent_denied`
    they used to make one person (NULL) of every such visitor, who could never convert."""
    spec = validate(FunnelSpec, {"name": "f", "window": "1h", "breakdown": [], "include_consent_denied": True,
        "steps": [{"name": "one", "event": "session_start"}, {"name": "two", "event": "test_drive_click"}]})  # fmt: skip
    start = AS_OF_US - DAY_US
    events = [
        dict(stitched_uid=uid, cid=None, analytics_storage="No", event_name=name,
             event_timestamp=start + i * MIN_US)
        for uid in (None, "known")
        for i, name in enumerate(["session_start", "test_drive_click"])
    ]  # fmt: skip
    load(duck, events, [])
    [report] = run_funnels(duck, [spec], AS_OF)
    assert [(r.reached, r.converted) for r in report.totals] == [(1, 1), (1, 0)]
    rows = events_table(events).to_pylist()
    assert list(reference_entries(spec, rows, AS_OF_US)) == [("known", rows[2]["event_date"])]


def test_dropoff_audiences(duck: DuckDBBackend) -> None:
    start = AS_OF_US - 2 * DAY_US
    events = [
        *journey("a", 5, start=start),
        *journey("b", 3, start=start),  # stopped after the test-drive click
        *journey(
            "b2", 3, start=AS_OF_US - 10 * MIN_US
        ),  # still in progress (< 1h ago): not dropped yet
        *journey("c", 2, start=start),  # stopped at the model page
        *journey("c", 5, start=start + DAY_US),  # ... but converted the next day
        *journey("d", 4, start=start),  # stopped at the form
        *journey(None, 3, start=start, cid="anon"),  # not identified: never in an audience
    ]
    load(duck, events, [profile_row(u) for u in ("a", "b", "b2", "c", "d")])
    [report] = run_funnels(duck, [CEJ], AS_OF)
    sizes = {r.name: r.members for r in report.dropoffs}
    assert sizes == {
        "cej_test_drive__dropped_model_page": 0,
        "cej_test_drive__dropped_test_drive_click": 1,
        "cej_test_drive__dropped_form": 1,
    }
    rows = duck.query(
        "SELECT audience, uid, reason FROM audience_members ORDER BY audience"
    ).to_pylist()
    assert [(r["audience"], r["uid"]) for r in rows] == [
        ("cej_test_drive__dropped_form", "d"),
        ("cej_test_drive__dropped_test_drive_click", "b"),
    ]
    # b completes later: the next run moves b out, with a change record.
    load(
        duck,
        [*events, *journey("b", 5, start=AS_OF_US - 5 * 60 * MIN_US)],
        [profile_row(u) for u in "abcd"],
    )
    [again] = run_funnels(duck, [CEJ], AS_OF)
    assert {r.name: (r.members, r.exited) for r in again.dropoffs}[
        "cej_test_drive__dropped_test_drive_click"
    ] == (0, 1)


# Times: a few shared ones (ties, entries on neighbouring days), a busy week, or the whole period.
_MINUTES = st.one_of(
    st.sampled_from([0, 1, 2, 24 * 60, 24 * 60 + 1]),
    st.integers(0, 3 * 24 * 60),
    st.integers(0, 30 * 24 * 60),
)
_PATHS = st.sampled_from(["/models/ev9", "/models/kona", "/offers"])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from([CEJ, MODELS]),
    st.lists(
        st.tuples(
            st.sampled_from(["u1", "u2"]),
            st.sampled_from(
                [
                    "session_start",
                    "page_view",
                    "page_view",  # twice as likely: MODELS has three page-view steps
                    "test_drive_click",
                    "form_start",
                    "test_drive_submit",
                ]
            ),
            _MINUTES,
            _PATHS,
        ),
        max_size=30,
    ),
)
def test_entries_equal_reference(spec: FunnelSpec, stream: list[tuple[str, str, int, str]]) -> None:
    events = [
        dict(stitched_uid=u, event_name=n, page_path=p if n == "page_view" else None,
             event_timestamp=AS_OF_US - m * MIN_US, event_key=f"e{i}")
        for i, (u, n, m, p) in enumerate(stream)
    ]  # fmt: skip
    n_steps = len(spec.steps)
    backend = DuckDBBackend(":memory:")
    try:
        load(backend, events, [])
        table = events_table(events)
        rows = table.to_pylist()
        backend.execute(
            f"CREATE TABLE {entries_table(spec)} AS {backend.render(entries_select(spec))}",
            {"as_of_us": AS_OF_US},
        )
        got = {
            (r["person"], r["day"]): [r[f"t{k}"] for k in range(1, n_steps + 1)]
            for r in backend.query(f"SELECT * FROM {entries_table(spec)}").to_pylist()
        }
        assert got == reference_entries(spec, rows, AS_OF_US)
    finally:
        backend.close()


def test_golden_sql(duck: DuckDBBackend, bq_renderer: BigQueryBackend) -> None:
    entries = entries_select(CEJ)
    assert_golden("funnel_cej_test_drive_entries", "bigquery", bq_renderer.render(entries))
    assert_golden("funnel_cej_test_drive_entries", "duckdb", duck.render(entries))
    stats = stats_select(CEJ, entries_table(CEJ), ["day", "device_category"])
    assert_golden("funnel_cej_test_drive_stats", "bigquery", bq_renderer.render(stats))
    assert_golden("funnel_cej_test_drive_stats", "duckdb", duck.render(stats))
