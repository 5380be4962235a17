"""Triggers on DuckDB: decidability and late data, idempotence, cooldown, cap, quiet hours, expiry."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cdp.backends.bigquery import BigQueryBackend
from cdp.backends.duckdb import DuckDBBackend
from cdp.segments.durations import from_micros
from cdp.segments.loader import load_specs
from cdp.specs import validate
from cdp.triggers import TriggerSettings, TriggerSpec, detect_triggers, next_due
from cdp.triggers.compile import candidates_select
from cdp.triggers.schedule import quiet_until
from cdp.triggers.spec import QuietHours
from tests.golden import assert_golden
from tests.segment_strategies import AS_OF, AS_OF_US, load, profile_row

SPECS = load_specs(
    Path(__file__).parent.parent / "fixtures" / "specs", {"tab_name": "string", "model": "string"}
)
MIN_US = 60_000_000
T0 = AS_OF_US - 24 * 60 * MIN_US  # a click a day before AS_OF (12:00 UTC = 21:00 KST... see tests)
NO_CAP = TriggerSettings(daily_cap=None)


def spec(**overrides: Any) -> TriggerSpec:
    data: dict[str, Any] = {
        "name": "td",
        "start": {"event": "test_drive_click"},
        "completion": [{"event": "test_drive_submit"}],
        "wait": "30m",
        "context": ["model"],
    }
    data.update(overrides)
    return validate(TriggerSpec, data)


def click(uid: str, at: int, session: int = 1, **extra: Any) -> dict[str, Any]:
    return dict(
        stitched_uid=uid,
        event_name="test_drive_click",
        model="ev9",
        event_timestamp=at,
        ga_session_id=session,
        **extra,
    )


def submit(uid: str, at: int, session: int = 1) -> dict[str, Any]:
    return dict(
        stitched_uid=uid,
        event_name="test_drive_submit",
        model="ev9",
        event_timestamp=at,
        ga_session_id=session,
    )


def tick(at: int) -> dict[str, Any]:
    """Someone else's event: moves the data's latest timestamp (and so the watermark)."""
    return dict(stitched_uid="zz", event_name="user_engagement", event_timestamp=at)


def fired(duck: DuckDBBackend) -> list[tuple[str, str]]:
    rows = duck.query(
        "SELECT uid, start_event_key FROM trigger_firings ORDER BY start_event_timestamp"
    ).to_pylist()
    return [(r["uid"], r["start_event_key"]) for r in rows]


def decided(duck: DuckDBBackend) -> dict[str, str]:
    rows = duck.query(
        "SELECT uid, status FROM trigger_decisions ORDER BY start_event_timestamp, uid"
    ).to_pylist()
    return {r["uid"]: r["status"] for r in rows}


PEOPLE = [profile_row(u) for u in ("a", "b", "c", "zz")]
NOW = datetime(2024, 5, 20, 3, 0, tzinfo=UTC)  # 12:00 in Seoul: outside quiet hours


def test_abandoned_fires_completed_does_not(duck: DuckDBBackend) -> None:
    events = [
        click("a", T0),
        click("b", T0), submit("b", T0 + 29 * MIN_US),  # completed in time
        click("c", T0), submit("c", T0 + 31 * MIN_US),  # completed too late: abandoned
        tick(T0 + 120 * MIN_US),
    ]  # fmt: skip
    load(duck, events, PEOPLE)
    report = detect_triggers(duck, [spec()], now=NOW, settings=NO_CAP)
    assert sorted(d.candidate.uid for d in report.firings) == ["a", "c"]
    row = duck.query("SELECT * FROM trigger_firings WHERE uid = 'a'").to_pylist()[0]
    assert row["model"] == "ev9" and json.loads(row["context"]) == {"model": "ev9"}
    assert row["crm_record_id"] == "003a" and row["status"] == "fire"
    assert row["deliver_after"] == NOW and row["expires_at"] is None


def test_a_device_clock_ahead_does_not_move_the_watermark(duck: DuckDBBackend) -> None:
    """GA4's event_timestamp is the client's clock: an event 'from tomorrow' is not data up to
    tomorrow. The click is undecided until data past its wait arrives, not fired as abandoned."""
    ahead = tick(T0 + 24 * 60 * MIN_US)  # a device set a day ahead
    load(duck, [click("a", T0), tick(T0 + 20 * MIN_US), ahead], PEOPLE)
    now = from_micros(T0 + 20 * MIN_US)
    report = detect_triggers(duck, [spec()], now=now, settings=NO_CAP)
    assert report.decisions == [] and report.watermark == from_micros(T0 + 5 * MIN_US)


def test_late_completion_never_causes_a_false_abandonment(duck: DuckDBBackend) -> None:
    # Run 1: data reaches click + 40 min, but the submit (click + 10 min) has not landed yet.
    # Watermark = latest - 15 min safety lag = click + 25 min < click + wait: not decidable yet.
    load(duck, [click("a", T0), tick(T0 + 40 * MIN_US)], PEOPLE)
    first = detect_triggers(duck, [spec()], now=NOW, settings=NO_CAP)
    assert first.decisions == [] and str(first).endswith("no start newly decidable")
    # Run 2: the late submit arrives with more data; the click is decided as completed.
    load(duck, [click("a", T0), submit("a", T0 + 10 * MIN_US), tick(T0 + 90 * MIN_US)], PEOPLE)
    report = detect_triggers(duck, [spec()], now=NOW, settings=NO_CAP)
    assert [d.status for d in report.decisions] == ["completed"]
    assert fired(duck) == [] and decided(duck) == {"a": "completed"}


def test_a_completed_start_is_decided_once(duck: DuckDBBackend) -> None:
    """Identity later withdraws the submit's attribution (its device became shared): the click,
    decided completed, used to be judged again and fire as abandoned."""
    load(duck, [click("a", T0), submit("a", T0 + 10 * MIN_US), tick(T0 + 90 * MIN_US)], PEOPLE)
    assert [
        d.status for d in detect_triggers(duck, [spec()], now=NOW, settings=NO_CAP).decisions
    ] == ["completed"]
    load(
        duck, [click("a", T0), submit("zz", T0 + 10 * MIN_US), tick(T0 + 26 * 60 * MIN_US)], PEOPLE
    )
    later = NOW + timedelta(hours=26)
    assert detect_triggers(duck, [spec()], now=later, settings=NO_CAP).decisions == []
    assert fired(duck) == []


def test_safety_lag_is_configurable(duck: DuckDBBackend) -> None:
    load(duck, [click("a", T0), tick(T0 + 40 * MIN_US)], PEOPLE)
    loose = TriggerSettings.model_validate({"daily_cap": None, "safety_lag": "5m"})
    assert [
        d.candidate.uid for d in detect_triggers(duck, [spec()], now=NOW, settings=loose).firings
    ] == ["a"]


def test_reruns_and_lookback_reprocessing_fire_nothing_new(duck: DuckDBBackend) -> None:
    events = [click("a", T0), click("b", T0 + MIN_US), tick(T0 + 120 * MIN_US)]
    load(duck, events, PEOPLE)
    first = detect_triggers(duck, [spec()], now=NOW, settings=NO_CAP)
    assert len(first.firings) == 2
    # Each run's scratch table is its own (overlapping runs never share one), and goes.
    assert not duck.con.sql(
        "SELECT * FROM duckdb_tables() WHERE table_name LIKE 'trigger_firings__new%'"
    ).fetchall()
    before = fired(duck)
    assert (
        detect_triggers(duck, [spec()], now=NOW + timedelta(minutes=10), settings=NO_CAP).decisions
        == []
    )
    # Staging re-reads the lookback window: the intraday rows are replaced by the daily shard's
    # (same event keys, no longer provisional) and new data arrives; a wider lookback too.
    restaged = [dict(e, is_provisional=False) for e in events] + [tick(T0 + 300 * MIN_US)]
    load(duck, restaged, PEOPLE)
    wide = TriggerSettings.model_validate({"daily_cap": None, "lookback": "10d"})
    assert (
        detect_triggers(duck, [spec()], now=NOW + timedelta(hours=1), settings=wide).decisions == []
    )
    assert fired(duck) == before


def test_reattributed_start_fires_at_most_once(duck: DuckDBBackend) -> None:
    # Identity re-attributes already staged rows between runs (a late login, a CID's first login
    # backfilling its anonymous past): the same click must not fire again for its new owner.
    def staged(uid: str | None) -> list[dict[str, Any]]:
        return [click(uid, T0, event_key="k_click", cid="c1"), tick(T0 + 120 * MIN_US)]  # type: ignore[arg-type]

    within_expiry = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=T0 + 120 * MIN_US)
    td = spec(expiry="6h")
    runs = []
    for uid in (None, "a", "b"):  # anonymous (undecidable), backfilled to a, then moved to b
        load(duck, staged(uid), PEOPLE)
        report = detect_triggers(duck, [td], now=within_expiry, settings=NO_CAP)
        runs.append([(d.candidate.uid, d.status) for d in report.decisions])
    assert runs == [[], [("a", "fire")], []]
    assert fired(duck) == [("a", "k_click")] and decided(duck) == {"a": "fire"}


def test_provisional_rows_are_read(duck: DuckDBBackend) -> None:
    load(duck, [click("a", T0, is_provisional=True), tick(T0 + 60 * MIN_US)], PEOPLE)
    assert len(detect_triggers(duck, [spec()], now=NOW, settings=NO_CAP).firings) == 1


def test_session_scope(duck: DuckDBBackend) -> None:
    # Submitted within 30 minutes, but in another session (e.g. on another device).
    load(
        duck,
        [
            click("a", T0, session=1),
            submit("a", T0 + 5 * MIN_US, session=2),
            tick(T0 + 90 * MIN_US),
        ],
        PEOPLE,
    )
    assert detect_triggers(duck, [spec(scope="window")], now=NOW, settings=NO_CAP).firings == []
    report = detect_triggers(
        duck, [spec(name="td_session", scope="session")], now=NOW, settings=NO_CAP
    )
    assert [d.candidate.uid for d in report.firings] == ["a"]


def test_session_scope_start_without_a_session_uses_the_window_rule(duck: DuckDBBackend) -> None:
    """No ga_session_id (Measurement Protocol, server-side): it used to fire, completed or not."""
    load(
        duck,
        [
            click("a", T0, session_key=None),
            submit("a", T0 + 2 * MIN_US) | {"session_key": None},
            click("b", T0, session_key=None),
            tick(T0 + 90 * MIN_US),
        ],
        PEOPLE,
    )
    report = detect_triggers(duck, [spec(scope="session")], now=NOW, settings=NO_CAP)
    assert [d.candidate.uid for d in report.firings] == ["b"]


def test_a_wait_as_long_as_the_lookback_still_fires(duck: DuckDBBackend) -> None:
    """The lookback runs from when a start becomes decidable: before, `wait >= lookback` made
    the candidate range empty and the trigger never fired."""
    long_wait = spec(wait="4d")
    load(duck, [click("a", T0), tick(T0 + 4 * 24 * 60 * MIN_US + 60 * MIN_US)], PEOPLE)
    later = from_micros(T0 + 4 * 24 * 60 * MIN_US + 60 * MIN_US)
    report = detect_triggers(duck, [long_wait], now=later, settings=NO_CAP)
    assert [d.candidate.uid for d in report.firings] == ["a"]


def test_cooldown_within_a_run_and_across_runs(duck: DuckDBBackend) -> None:
    cooled = spec(cooldown="24h")
    load(duck, [click("a", T0), click("a", T0 + 120 * MIN_US), tick(T0 + 200 * MIN_US)], PEOPLE)
    report = detect_triggers(duck, [cooled], now=NOW, settings=NO_CAP)
    assert [d.status for d in report.decisions] == ["fire", "cooldown"]
    # A later click, still within 24h of the fired one, is suppressed on the next run too.
    load(duck, [click("a", T0), click("a", T0 + 120 * MIN_US), click("a", T0 + 600 * MIN_US),
                tick(T0 + 700 * MIN_US)], PEOPLE)  # fmt: skip
    assert [
        d.status for d in detect_triggers(duck, [cooled], now=NOW, settings=NO_CAP).decisions
    ] == ["cooldown"]
    # After the cooldown it fires again.
    load(
        duck,
        [click("a", T0 + 25 * 60 * MIN_US, event_key="next_day"), tick(T0 + 26 * 60 * MIN_US)],
        PEOPLE,
    )
    next_day = NOW + timedelta(days=1)  # the data is never complete beyond now
    assert [
        d.status for d in detect_triggers(duck, [cooled], now=next_day, settings=NO_CAP).decisions
    ] == ["fire"]
    assert len(fired(duck)) == 2


def test_daily_cap_across_triggers(duck: DuckDBBackend) -> None:
    triggers = [
        spec(name="t1"),
        spec(name="t2", start={"event": "form_start"}),
        spec(
            name="t3",
            start={"event": "page_view", "where": [{"param": "page_path", "prefix": "/models/"}]},
        ),
    ]
    events = [
        click("a", T0),
        dict(stitched_uid="a", event_name="form_start", event_timestamp=T0 + MIN_US),
        dict(
            stitched_uid="a",
            event_name="page_view",
            page_path="/models/ev9",
            event_timestamp=T0 + 2 * MIN_US,
        ),
        dict(stitched_uid="b", event_name="form_start", event_timestamp=T0 + MIN_US),
        tick(T0 + 120 * MIN_US),
    ]
    load(duck, events, PEOPLE)
    report = detect_triggers(duck, triggers, now=NOW, settings=TriggerSettings(daily_cap=2))
    statuses = {(d.candidate.trigger, d.candidate.uid): d.status for d in report.decisions}
    assert statuses == {
        ("t1", "a"): "fire",
        ("t2", "a"): "fire",
        ("t3", "a"): "capped",
        ("t2", "b"): "fire",
    }
    # The cap counts the day's earlier firings on later runs as well.
    load(duck, [*events, dict(stitched_uid="a", event_name="form_start", event_timestamp=T0 + 200 * MIN_US),
                tick(T0 + 300 * MIN_US)], PEOPLE)  # fmt: skip
    again = detect_triggers(
        duck, triggers, now=NOW + timedelta(hours=1), settings=TriggerSettings(daily_cap=2)
    )
    assert [d.status for d in again.decisions] == ["capped"]


def test_quiet_hours_hold_delivery(duck: DuckDBBackend) -> None:
    quiet = {"start": "21:00", "end": "08:00", "time_zone": "Asia/Seoul"}
    load(duck, [click("a", T0), tick(T0 + 60 * MIN_US)], PEOPLE)
    late_evening = datetime(2024, 5, 19, 14, 0, tzinfo=UTC)  # 23:00 in Seoul
    report = detect_triggers(duck, [spec(quiet_hours=quiet)], now=late_evening, settings=NO_CAP)
    [decision] = report.firings
    assert decision.deliver_after == datetime(2024, 5, 19, 23, 0, tzinfo=UTC)  # 08:00 in Seoul
    assert duck.scalar("SELECT deliver_after FROM trigger_firings") == decision.deliver_after
    # The next run after 08:00 Seoul hands it over; nothing waits past that.
    assert next_due(duck, late_evening) == decision.deliver_after
    assert next_due(duck, decision.deliver_after) is None


def test_expiry_never_sends_stale_occurrences(duck: DuckDBBackend) -> None:
    # Clicked at 21:00 Seoul (12:00 UTC); decided at 21:50 Seoul inside quiet hours: held to 08:00,
    # 11 hours after the click.
    click_us = int(datetime(2024, 5, 19, 12, 0, tzinfo=UTC).timestamp()) * 1_000_000
    now = datetime(2024, 5, 19, 12, 50, tzinfo=UTC)
    quiet = {"start": "21:00", "end": "08:00", "time_zone": "Asia/Seoul"}
    load(duck, [click("a", click_us), click("b", click_us), tick(click_us + 50 * MIN_US)], PEOPLE)
    short = spec(name="short", expiry="6h", quiet_hours=quiet)
    long = spec(name="long", expiry="12h", quiet_hours=quiet)
    report = detect_triggers(duck, [short, long], now=now, settings=NO_CAP)
    statuses = sorted((d.candidate.trigger, d.candidate.uid, d.status) for d in report.decisions)
    assert statuses == [
        ("long", "a", "fire"),
        ("long", "b", "fire"),
        ("short", "a", "expired"),
        ("short", "b", "expired"),
    ]
    assert duck.scalar("SELECT COUNT(*) FROM trigger_firings WHERE `trigger` = 'short'") == 0
    # A backlog older than the expiry is recorded as expired, never sent.
    later = detect_triggers(
        duck, [spec(name="backlog", expiry="1h")], now=now + timedelta(hours=3), settings=NO_CAP
    )
    assert {d.status for d in later.decisions} == {"expired"}


def test_a_firing_left_no_time_to_deliver_is_expired_and_takes_no_cooldown(
    duck: DuckDBBackend,
) -> None:
    """Clicked 20:01 Seoul, decided 21:00: held to 08:00, expiring 08:01. It used to be `fire`
    (never sendable: the 08:00 run comes after 08:01 in practice) and its cooldown suppressed
    the person's real abandonment the next morning."""
    quiet = {"start": "21:00", "end": "08:00", "time_zone": "Asia/Seoul"}
    td = spec(expiry="12h", quiet_hours=quiet, cooldown="24h")
    click1 = int(datetime(2024, 5, 19, 11, 1, tzinfo=UTC).timestamp()) * 1_000_000
    run1 = datetime(2024, 5, 19, 12, 0, tzinfo=UTC)
    load(duck, [click("a", click1), tick(int(run1.timestamp()) * 1_000_000)], PEOPLE)
    [first] = detect_triggers(duck, [td], now=run1, settings=NO_CAP).decisions
    assert first.status == "expired"
    click2 = int(datetime(2024, 5, 19, 23, 30, tzinfo=UTC).timestamp()) * 1_000_000
    run2 = datetime(2024, 5, 20, 0, 15, tzinfo=UTC)
    load(duck, [click("a", click1), click("a", click2), tick(int(run2.timestamp()) * 1_000_000)],
         PEOPLE)  # fmt: skip
    [second] = detect_triggers(duck, [td], now=run2, settings=NO_CAP).decisions
    assert second.status == "fire"


def test_consent_and_population(duck: DuckDBBackend) -> None:
    events = [
        click("a", T0, analytics_storage="No"),
        click("b", T0),
        click("unknown", T0),
        tick(T0 + 60 * MIN_US),
    ]
    load(duck, events, [profile_row("a"), profile_row("b", opted_out=True), profile_row("zz")])
    assert detect_triggers(duck, [spec()], now=NOW, settings=NO_CAP).decisions == []


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        ("2024-05-19 20:59", "2024-05-19 20:59"),
        ("2024-05-19 21:00", "2024-05-20 08:00"),
        ("2024-05-20 02:30", "2024-05-20 08:00"),
        ("2024-05-20 08:00", "2024-05-20 08:00"),
    ],
)
def test_quiet_until_wraps_midnight(local: str, expected: str) -> None:
    from zoneinfo import ZoneInfo

    seoul = ZoneInfo("Asia/Seoul")
    quiet = QuietHours(start="21:00", end="08:00", time_zone="Asia/Seoul")
    moment = datetime.strptime(local, "%Y-%m-%d %H:%M").replace(tzinfo=seoul)
    assert quiet_until(moment, quiet) == datetime.strptime(expected, "%Y-%m-%d %H:%M").replace(
        tzinfo=seoul
    )
    daytime = QuietHours(start="12:00", end="13:00", time_zone="Asia/Seoul")
    noon = datetime(2024, 5, 20, 12, 30, tzinfo=seoul)
    assert quiet_until(noon, daytime) == datetime(2024, 5, 20, 13, 0, tzinfo=seoul)


def test_golden_sql(duck: DuckDBBackend, bq_renderer: BigQueryBackend) -> None:
    tree = candidates_select(SPECS.trigger("test_drive_abandon"))
    assert_golden("trigger_test_drive_abandon", "bigquery", bq_renderer.render(tree))
    assert_golden("trigger_test_drive_abandon", "duckdb", duck.render(tree))


def test_shipped_trigger_end_to_end(duck: DuckDBBackend) -> None:
    load(
        duck,
        [click("a", T0), click("b", T0), submit("b", T0 + 3 * MIN_US), tick(T0 + 60 * MIN_US)],
        PEOPLE,
    )
    report = detect_triggers(duck, SPECS, now=AS_OF - timedelta(hours=23))
    assert [d.candidate.uid for d in report.firings] == ["a"]
    assert "test_drive_abandon: fire 1" in str(report)


def test_every_bigquery_statement_of_a_run_parses(
    bq_renderer: BigQueryBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyarrow as pa

    from tests.segment_strategies import RecordingBigQuery

    candidate = pa.table({"trigger": ["test_drive_abandon"], "uid": ["a"], "crm_record_id": ["003a"],
                          "start_event_key": ["k1"], "start_event_timestamp": [T0], "session_key": ["c.1"],
                          "cid": ["c"], "completed": [False], "model": ["ev9"],
                          "page_path": ["/models/ev9"]})  # fmt: skip
    answers = {"MAX(event_timestamp)": pa.table({"m": [AS_OF_US]}), "AS start_event_key": candidate}
    recorder = RecordingBigQuery(bq_renderer, answers)
    recorder.install(monkeypatch)
    report = detect_triggers(bq_renderer, SPECS, now=AS_OF - timedelta(hours=23))
    assert [d.status for d in report.decisions] == ["fire"]
    text = "\n".join(recorder.statements)
    assert (
        "ALTER TABLE `demo-project`.cdp.trigger_firings ADD COLUMN IF NOT EXISTS `model` STRING"
        in text
    )
    assert "INSERT INTO `demo-project`.cdp.trigger_decisions" in text


def test_a_firings_context_beats_a_profile_column_of_the_same_name(duck: DuckDBBackend) -> None:
    """A CRM attribute `model` (the car owned) used to replace the clicked model in the journey
    payload, silently."""
    import pyarrow as pa

    from cdp.delivery import load_destinations
    from cdp.delivery.engine import plan_delivery
    from tests.segment_strategies import PROFILE_SCHEMA, events_table

    destinations = load_destinations(
        Path(__file__).parent.parent / "fixtures/specs/destinations.yaml"
    )
    journey = destinations.get("test_drive_abandon_journey")
    at = int(datetime(2024, 5, 20, 1, 0, tzinfo=UTC).timestamp()) * 1_000_000  # 10:00 Seoul
    now = from_micros(at + 60 * MIN_US)
    duck.load_arrow("stitched_events", events_table([click("a", at), tick(at + 60 * MIN_US)]),
                    mode="replace")  # fmt: skip
    profiles = [{**profile_row("a", email="a@x"), "model": "sorento"}, {**profile_row("zz")}]
    schema = PROFILE_SCHEMA.append(pa.field("model", pa.string()))
    duck.load_arrow("profiles", pa.Table.from_pylist(profiles, schema=schema), mode="replace")
    detect_triggers(duck, SPECS, now=now)
    [payload] = plan_delivery(duck, journey, now=now).samples["add"]
    assert payload["model"] == "ev9" and payload["email"] == "a@x"


def test_delivery_holds_a_due_firing_during_its_quiet_hours(duck: DuckDBBackend) -> None:
    """Decided at 20:50 Seoul (due at once), delivered late: it used to go out at 23:30."""
    from cdp.delivery import load_destinations
    from cdp.delivery.engine import plan_delivery
    from cdp.triggers.run import held_triggers

    destinations = load_destinations(
        Path(__file__).parent.parent / "fixtures/specs/destinations.yaml"
    )
    journey = destinations.get("test_drive_abandon_journey")
    at = int(datetime(2024, 5, 19, 11, 0, tzinfo=UTC).timestamp()) * 1_000_000  # 20:00 Seoul
    decided_at = datetime(2024, 5, 19, 11, 50, tzinfo=UTC)  # 20:50 Seoul
    people = [profile_row("a", email="a@x"), profile_row("zz")]
    load(duck, [click("a", at), tick(int(decided_at.timestamp()) * 1_000_000)], people)
    [firing] = detect_triggers(duck, SPECS, now=decided_at).firings
    assert firing.deliver_after == decided_at
    assert plan_delivery(duck, journey, now=decided_at + timedelta(minutes=5)).adds == 1
    assert plan_delivery(duck, journey, now=datetime(2024, 5, 19, 14, 30, tzinfo=UTC)).adds == 0
    # (By 08:00 it has expired: 12h after the click.)
    assert held_triggers(duck, ["test_drive_abandon"], datetime(2024, 5, 19, 14, 30, tzinfo=UTC))
    assert not held_triggers(duck, ["test_drive_abandon"], datetime(2024, 5, 19, 23, 5, tzinfo=UTC))


def test_a_dry_run_decides_nothing_for_good(duck: DuckDBBackend) -> None:
    """`cdp run --dry-run` recorded its decisions, and a recorded one is final: a draft spec
    with a misspelt completion fired, for good, people who had completed."""
    load(duck, [click("a", T0), tick(T0 + 90 * MIN_US)], PEOPLE)
    dry = detect_triggers(duck, [spec()], now=NOW, settings=NO_CAP, record=False)
    assert [d.status for d in dry.decisions] == ["fire"]
    assert decided(duck) == {} and fired(duck) == []
    real = detect_triggers(duck, [spec()], now=NOW, settings=NO_CAP)
    assert [d.status for d in real.decisions] == ["fire"]
