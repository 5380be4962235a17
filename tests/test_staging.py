"""Staging: flattening, dedupe, intraday replacement, incremental == full, golden SQL."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdp.backends.bigquery import BigQueryBackend
from cdp.backends.duckdb import DuckDBBackend
from cdp.config import ParamColumn, StagingSettings
from cdp.errors import InputError
from cdp.ga4.staging import ShardPlan, plan_shards, stage, stage_select, staged_columns
from tests.export_builder import event, write_shard
from tests.golden import assert_golden
from tests.staged_schema import STG_EVENTS_SCHEMA

SETTINGS = StagingSettings(extra_params=[ParamColumn(key="tab_name"), ParamColumn(key="model")])


def staged(backend: DuckDBBackend) -> list[tuple[object, ...]]:
    table = backend.query(
        "SELECT event_key, event_name, cid, uid, shard_date, is_provisional, page_path, tab_name "
        "FROM stg_events ORDER BY event_key"
    )
    return [tuple(r.values()) for r in table.to_pylist()]


def test_flattens_params_and_paths(duck: DuckDBBackend) -> None:
    write_shard(duck, "events_20240101", [event("20240101", "c1", "tab_click", 5, uid="u1",
                                                params={"tab_name": "exterior", "model": "ev9"})])  # fmt: skip
    stage(duck, SETTINGS)
    row = duck.query("SELECT * FROM stg_events").to_pylist()[0]
    assert row["page_path"] == "/models/ev9"
    assert row["page_location"].endswith("/models/ev9?utm=x")
    assert (row["tab_name"], row["model"], row["uid"], row["cid"]) == (
        "exterior",
        "ev9",
        "u1",
        "c1",
    )
    assert row["session_key"] == f"c1.{row['ga_session_id']}"
    assert row["engagement_time_msec"] == 105
    assert row["event_date"] == date(2024, 1, 1)
    assert row["analytics_storage"] == "Yes" and row["device_category"] == "mobile"


def test_staged_columns_match_the_test_schema(duck: DuckDBBackend) -> None:
    write_shard(duck, "events_20240101", [event("20240101", "c1", "page_view", 1)])
    stage(duck, SETTINGS)
    names = duck.query("SELECT * FROM stg_events LIMIT 0").schema.names
    extras = [p.column_name for p in SETTINGS.extra_params]
    assert [n for n in names if n not in extras] == STG_EVENTS_SCHEMA.names


def test_staged_columns_lists_the_table_in_order(duck: DuckDBBackend) -> None:
    write_shard(duck, "events_20240101", [event("20240101", "c1", "page_view", 1)])
    stage(duck, SETTINGS)
    assert duck.query("SELECT * FROM stg_events LIMIT 0").schema.names == staged_columns(SETTINGS)


def test_a_double_param_reads_whichever_numeric_field_holds_it(duck: DuckDBBackend) -> None:
    """GA4 writes a whole number to int_value even for a param that is fractional elsewhere."""
    whole, fractional = (
        event("20240101", "c1", "purchase", 1),
        event("20240101", "c1", "purchase", 2),
    )
    whole["event_params"].append({"key": "value", "value": {"int_value": 30000}})
    fractional["event_params"].append({"key": "value", "value": {"double_value": 29.5}})
    write_shard(duck, "events_20240101", [whole, fractional])
    stage(duck, StagingSettings(extra_params=[ParamColumn(key="value", type="double")]))
    values = duck.query("SELECT value FROM stg_events ORDER BY event_timestamp").column(0)
    assert values.to_pylist() == [30000.0, 29.5]


def test_string_and_int_params_read_the_other_fields_too(duck: DuckDBBackend) -> None:
    """A model id sent as a number, a quantity sent as 3.0: both staged as NULL before."""
    rows = [event("20240101", "c1", "add_to_cart", s) for s in range(4)]
    for row, model, qty in zip(rows, [{"string_value": "ev9"}, {"int_value": 9}, {}, {}],
                               [{"int_value": 3}, {"double_value": 3.0}, {"double_value": 2.5}, {}],
                               strict=True):  # fmt: skip
        row["event_params"] += [{"key": "model", "value": model}, {"key": "qty", "value": qty}]
    write_shard(duck, "events_20240101", rows)
    params = [ParamColumn(key="model"), ParamColumn(key="qty", type="int")]
    stage(duck, StagingSettings(extra_params=params))
    got = duck.query("SELECT model, qty FROM stg_events ORDER BY event_timestamp").to_pylist()
    assert [(r["model"], r["qty"]) for r in got] == [
        ("ev9", 3),
        ("9", 3),
        (None, None),
        (None, None),
    ]


def test_changed_params_never_shift_columns(duck: DuckDBBackend) -> None:
    """Reordered params merge by name; added or dropped ones ask for a full refresh."""
    row = {"tab_name": "exterior", "model": "ev9"}
    write_shard(duck, "events_20240101", [event("20240101", "c1", "tab_click", 1, params=row)])
    stage(duck, SETTINGS)
    write_shard(duck, "events_20240102", [event("20240102", "c1", "tab_click", 2, params=row)])
    swapped = StagingSettings(extra_params=list(reversed(SETTINGS.extra_params)))
    stage(duck, swapped)
    values = duck.query("SELECT DISTINCT tab_name, model FROM stg_events").to_pylist()
    assert values == [row]
    more = StagingSettings(extra_params=[*SETTINGS.extra_params, ParamColumn(key="trim")])
    write_shard(duck, "events_20240103", [event("20240103", "c1", "tab_click", 3, params=row)])
    with pytest.raises(InputError, match=r"other params \(new: trim; gone: none\).*--full-refresh"):
        stage(duck, more)
    assert stage(duck, more, full_refresh=True).rows_staged == 3


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ([{"key": "차종"}, {"key": "모델"}], "both stage into column '__'"),
        ([{"key": "page_location"}], "'page_location' is a built-in column"),
        ([{"key": "url"}], "'url' is a built-in column"),
        ([{"key": "1st"}], "'1st' is not a valid name"),
    ],
)
def test_param_columns_must_be_distinct_new_names(
    params: list[dict[str, str]], message: str
) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=message):
        StagingSettings.model_validate({"extra_params": params})
    renamed = [{**p, "column": f"p{i}"} for i, p in enumerate(params)]
    assert StagingSettings.model_validate({"extra_params": renamed}).extra_params


PATHS = {  # page_location -> page_path, as REGEXP_EXTRACT(r'^(?:scheme://host)?([^?#]*)') gives
    "https://www.example-motors.co.kr/models/ev9?utm=x": "/models/ev9",
    "https://host.kr": "",
    "HTTP://host.kr:80?q=/x": "",
    "https://host.kr#top/x": "",
    "http://host.kr/p#f?g": "/p",
    "/showrooms/yeouido?x#y": "/showrooms/yeouido",
    "//host.kr/p": "//host.kr/p",
    "a/b://c": "a/b://c",
    "mailto:someone": "mailto:someone",
    "": "",
}


def test_page_path_strips_scheme_host_query_and_fragment(duck: DuckDBBackend) -> None:
    rows = []
    for second, location in enumerate(PATHS):
        row = event("20240101", "c1", "page_view", second)
        row["event_params"][1]["value"]["string_value"] = location
        rows.append(row)
    write_shard(duck, "events_20240101", rows)
    stage(duck, SETTINGS)
    got = duck.query("SELECT page_location, page_path FROM stg_events").to_pylist()
    assert {r["page_location"]: r["page_path"] for r in got} == PATHS


def test_dedupe_drops_exact_duplicates_keeps_true_repeats(duck: DuckDBBackend) -> None:
    click = event("20240101", "c1", "tab_click", 5, params={"tab_name": "exterior"})
    repeat = event(
        "20240101", "c1", "tab_click", 5, index=1, params={"tab_name": "exterior"}
    )  # same request
    write_shard(duck, "events_20240101", [click, click, click, repeat])
    report = stage(duck, SETTINGS)
    assert report.rows_read == 4 and report.rows_staged == 2 and report.duplicates_removed == 2
    assert duck.scalar("SELECT COUNT(DISTINCT event_key) FROM stg_events") == 2


def test_consent_denied_rows_are_staged_without_session(duck: DuckDBBackend) -> None:
    write_shard(duck, "events_20240101", [event("20240101", None, "page_view", 1, uid="u9")])
    stage(duck, SETTINGS)
    row = duck.query("SELECT cid, uid, session_key, analytics_storage FROM stg_events").to_pylist()[
        0
    ]
    assert row == {"cid": None, "uid": "u9", "session_key": None, "analytics_storage": "No"}


def test_intraday_is_replaced_by_daily_without_double_count(duck: DuckDBBackend) -> None:
    write_shard(duck, "events_20240101", [event("20240101", "c1", "page_view", 1)])
    write_shard(
        duck, "events_intraday_20240102", [event("20240102", "c1", "page_view", s) for s in (1, 2)]
    )
    stage(duck, SETTINGS)
    assert duck.scalar("SELECT COUNT(*) FROM stg_events WHERE is_provisional") == 2
    # The day is finalised: GA writes the daily shard (with one more late event) and drops intraday.
    write_shard(
        duck, "events_20240102", [event("20240102", "c1", "page_view", s) for s in (1, 2, 3)]
    )
    report = stage(duck, SETTINGS)
    assert report.plan == ShardPlan(daily=("20240101", "20240102"), intraday=())
    assert duck.scalar("SELECT COUNT(*) FROM stg_events WHERE shard_date = '20240102'") == 3
    assert duck.scalar("SELECT COUNT(*) FROM stg_events WHERE is_provisional") == 0


def test_second_run_changes_nothing(duck: DuckDBBackend) -> None:
    write_shard(
        duck, "events_20240101", [event("20240101", "c1", "page_view", s) for s in range(5)]
    )
    stage(duck, SETTINGS)
    before = staged(duck)
    stage(duck, SETTINGS)
    assert staged(duck) == before


def test_plan_reads_lookback_window_plus_unseen_and_intraday() -> None:
    daily = [f"202401{d:02d}" for d in range(1, 11)]
    seen = {f"events_{d}" for d in daily[:9]}
    plan = plan_shards(daily, ["20240110", "20240111"], seen, lookback_days=3)
    assert plan.daily == ("20240106", "20240107", "20240108", "20240109", "20240110")
    assert plan.intraday == ("20240111",)  # 20240110's intraday is superseded by its daily shard
    # A shard never staged before is read even if it is older than the lookback, alone: not
    # every shard after it.
    plan = plan_shards(daily, [], seen - {"events_20240102"}, lookback_days=3)
    assert plan.daily == ("20240102", "20240106", "20240107", "20240108", "20240109", "20240110")
    # Intraday-only exports (or a paused daily export) have a watermark too: no re-read of
    # every intraday shard on each run.
    intraday = [f"202401{d:02d}" for d in range(1, 11)]
    plan = plan_shards([], intraday, {f"events_intraday_{d}" for d in intraday}, lookback_days=3)
    assert plan.intraday == ("20240107", "20240108", "20240109", "20240110")


def test_first_date_is_a_floor_under_every_run() -> None:
    daily = [f"202401{d:02d}" for d in range(1, 11)]
    intraday = ["20240104", "20240111"]
    floor = date(2024, 1, 5)
    # The first run starts at the floor, intraday shards included.
    plan = plan_shards(daily, intraday, set(), lookback_days=3, first_date=floor)
    assert plan.daily == tuple(daily[4:]) and plan.intraday == ("20240111",)
    # A later run does not take the shards under the floor for unstaged ones (as it does
    # without a floor: see above), and the lookback stops at the floor.
    seen = {f"events_{d}" for d in daily[4:]}
    plan = plan_shards(daily, [], seen, lookback_days=30, first_date=floor)
    assert plan.daily == tuple(daily[4:])
    assert plan_shards(daily, [], seen, lookback_days=1, first_date=floor).daily == (
        "20240109", "20240110",
    )  # fmt: skip
    # `--start` within the floor narrows it; before it, it is refused.
    plan = plan_shards(daily, [], set(), lookback_days=3, start=date(2024, 1, 8), first_date=floor)
    assert plan.daily == ("20240108", "20240109", "20240110")
    with pytest.raises(InputError, match=r"before staging\.first_date 2024-01-05"):
        plan_shards(daily, [], set(), lookback_days=3, start=date(2024, 1, 2), first_date=floor)


def test_stage_reads_nothing_under_first_date(duck: DuckDBBackend) -> None:
    for day in ("20240101", "20240102"):
        write_shard(duck, f"events_{day}", [event(day, "c1", "page_view", 1)])
    settings = SETTINGS.model_copy(update={"first_date": date(2024, 1, 2)})
    assert stage(duck, settings).plan.daily == ("20240102",)
    assert stage(duck, settings).plan.daily == ("20240102",)  # not 20240101, "unstaged"
    assert duck.scalar("SELECT COUNT(*) FROM stg_events WHERE shard_date < '2024-01-02'") == 0


def test_a_changed_event_key_hash_is_refused_until_a_full_refresh(duck: DuckDBBackend) -> None:
    write_shard(duck, "events_20240101", [event("20240101", "c1", "page_view", 1)])
    stage(duck, SETTINGS)
    keys = duck.query("SELECT event_key FROM stg_events").column(0).to_pylist()
    duck.execute("UPDATE stg_keying SET probe = probe + 1")  # as if DuckDB's hash had changed
    with pytest.raises(InputError, match="event-key hash differs"):
        stage(duck, SETTINGS)
    stage(duck, SETTINGS, full_refresh=True)
    stage(duck, SETTINGS)
    assert duck.query("SELECT event_key FROM stg_events").column(0).to_pylist() == keys


def test_bad_inputs_are_one_line_errors(duck: DuckDBBackend) -> None:
    with pytest.raises(InputError, match="no GA4 export tables"):
        stage(duck, SETTINGS)
    # It used to rebuild stg_events from the range alone, dropping every other date.
    with pytest.raises(InputError, match="takes no --start/--end"):
        stage(duck, SETTINGS, full_refresh=True, start=date(2024, 1, 2))
    with pytest.raises(InputError, match="impossible date range"):
        plan_shards(
            ["20240101"], [], set(), lookback_days=3, start=date(2024, 2, 1), end=date(2024, 1, 1)
        )


def test_empty_day_stages_nothing_for_that_day(duck: DuckDBBackend) -> None:
    write_shard(duck, "events_20240101", [event("20240101", "c1", "page_view", 1)])
    write_shard(duck, "events_20240102", [])
    report = stage(duck, SETTINGS)
    assert report.rows_staged == 1 and "20240102" in report.plan.daily


DAYS = ["20240101", "20240102", "20240103", "20240104", "20240105"]


@st.composite
def arrivals(draw: st.DrawFn) -> list[tuple[str, list[dict[str, object]]]]:
    """A sequence of shard writes as GA makes them: intraday first, then the daily shard,
    sometimes rewritten with late events within three days, in any interleaving across days."""
    steps: list[tuple[str, list[dict[str, object]]]] = []
    for day in DAYS:
        n = draw(st.integers(0, 4))
        rows = [event(day, f"c{draw(st.integers(1, 3))}", "page_view", s) for s in range(n)]
        if draw(st.booleans()):
            rows.append(rows[0]) if rows else None  # an exact duplicate
        if draw(st.booleans()):
            steps.append((f"events_intraday_{day}", rows[: max(0, n - 1)]))
        steps.append((f"events_{day}", rows))
        if draw(st.booleans()):
            steps.append((f"events_{day}", [*rows, event(day, "c9", "scroll", 50)]))  # late rows
    order = draw(st.permutations(range(len(steps))))
    # GA never rewrites a day's intraday after its daily shard, nor a daily shard after 3 days.
    ordered = [steps[i] for i in order]
    return _respect_ga_rules(ordered)


def _respect_ga_rules(
    steps: list[tuple[str, list[dict[str, object]]]],
) -> list[tuple[str, list[dict[str, object]]]]:
    result: list[tuple[str, list[dict[str, object]]]] = []
    finalised: set[str] = set()
    latest_daily = ""
    for name, rows in steps:
        day = name[-8:]
        if "intraday" in name and day in finalised:
            continue
        if "intraday" not in name:
            if latest_daily and day in finalised and int(latest_daily) - int(day) > 3:
                continue  # GA stops rewriting a daily shard after three days
            finalised.add(day)
            latest_daily = max(latest_daily, day)
        result.append((name, rows))
    return result


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=arrivals())
def test_incremental_equals_full_rebuild_in_any_arrival_order(
    steps: list[tuple[str, list[dict[str, object]]]],
) -> None:
    with DuckDBBackend(":memory:") as incremental, DuckDBBackend(":memory:") as full:
        for name, rows in steps:
            write_shard(incremental, name, rows)
            if name.startswith("events_2"):
                incremental.execute(f"DROP TABLE IF EXISTS ga4.events_intraday_{name[-8:]}")
            stage(incremental, SETTINGS)
        for name in incremental.export_tables():
            rows = incremental.query(f"SELECT * FROM ga4.{name}").to_pylist()
            write_shard(full, name, rows)
        stage(full, SETTINGS, full_refresh=True)
        assert staged(incremental) == staged(full)
        # Identity joins its decisions back on this triple (`attribution.same_event`).
        unique = (
            "SELECT COUNT(*) = COUNT(DISTINCT (event_key, event_ts, shard_date)) FROM stg_events"
        )
        assert incremental.scalar(unique) is True


def test_golden_staging_sql(bq_renderer: BigQueryBackend) -> None:
    duck = DuckDBBackend(":memory:")
    plan = ShardPlan(daily=("20240101", "20240102"), intraday=("20240103",))
    for backend in (bq_renderer, duck):
        assert_golden(
            "staging_select", backend.dialect, backend.render(stage_select(backend, plan, SETTINGS))
        )
        assert_golden(
            "staging_replace_dates", backend.dialect,
            backend.render("DELETE FROM stg_events WHERE shard_date IN UNNEST(@dates)"),
        )  # fmt: skip
