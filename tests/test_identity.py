"""Identity rules on hand-built event streams: one scenario per rule, plus run modes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from cdp.backends.duckdb import DuckDBBackend
from cdp.config import IdentitySettings
from cdp.errors import InputError
from cdp.identity import build_identity, plan
from cdp.identity import rules as r
from cdp.identity import tables as t
from cdp.identity.intervals import LOOKUP_MAX_SPANS
from cdp.identity.reference import stitch
from cdp.identity.rules import JunkFilter
from tests.identity_strategies import T0, make_event, restage, snapshot, stg_table


def ev(
    key: str, hour: float, cid: str | None, uid: str | None = None, lag: int = 0
) -> dict[str, Any]:
    return make_event(key, T0 + timedelta(hours=hour), cid, uid, shard_lag_days=lag)


def stitched(
    duck: DuckDBBackend, rows: list[dict[str, Any]], **kw: Any
) -> dict[str, tuple[str | None, str]]:
    settings = IdentitySettings(**kw)
    duck.load_arrow("stg_events", stg_table(rows), mode="replace")
    build_identity(duck, settings, full_refresh=True)
    out = {
        x["event_key"]: (x["stitched_uid"], x["attribution"])
        for x in duck.query(
            "SELECT event_key, stitched_uid, attribution FROM stitched_events"
        ).to_pylist()
    }
    assert out == stitch(rows, settings).stitched  # the reference agrees on every scenario
    return out


def test_login_backfill_logout_and_switch(duck: DuckDBBackend) -> None:
    rows = [ev("a", 0, "C1"), ev("b", 1, "C1", "alice"), ev("c", 2, "C1"), ev("d", 3, "C1", "bob"),
            ev("e", 4, "C1"), ev("f", 5, "C2")]  # fmt: skip
    assert stitched(duck, rows) == {
        "a": ("alice", r.BACKFILL),
        "b": ("alice", r.LOGIN),
        "c": ("alice", r.AFTER_LOGOUT),
        "d": ("bob", r.LOGIN),
        "e": ("bob", r.AFTER_LOGOUT),
        "f": (None, r.NONE),
    }
    intervals = duck.query("SELECT uid, interval_no, valid_from_key, valid_to_key, status FROM identity_map "
                           "ORDER BY interval_no").to_pylist()  # fmt: skip
    assert intervals == [
        {
            "uid": "alice",
            "interval_no": 1,
            "valid_from_key": "a",
            "valid_to_key": "d",
            "status": r.ACTIVE,
        },
        {
            "uid": "bob",
            "interval_no": 2,
            "valid_from_key": "d",
            "valid_to_key": None,
            "status": r.ACTIVE,
        },
    ]


def test_a_busy_device_is_decided_per_event(duck: DuckDBBackend) -> None:
    # A showroom tablet: three salespeople take turns all day, anonymous browsing in between. It
    # has more spans than a lookup takes, so the full rebuild decides it by the per-event pass.
    staff = ["kim", "lee", "park"]
    rows = [ev("t-start", 0, "TAB")]
    for turn in range(LOOKUP_MAX_SPANS + 8):
        rows += [ev(f"t{turn:03d}-login", turn + 0.1, "TAB", staff[turn % 3]),
                 ev(f"t{turn:03d}-browse", turn + 0.5, "TAB")]  # fmt: skip
    rows += [ev("p-login", 0.2, "PHONE", "kim"), ev("p-browse", 0.3, "PHONE")]
    out = stitched(duck, rows)  # agrees with the reference on every event
    for statement in plan.full_plan(IdentitySettings()):  # again, up to the busy devices
        duck.execute(statement.sql, r.params(IdentitySettings()))
        if statement.name == "identity_full_busy_devices":
            break
    assert duck.query(f"SELECT cid FROM {t.BUSY}").column(0).to_pylist() == ["TAB"]
    assert out["t-start"] == ("kim", r.BACKFILL)
    assert out["t005-browse"] == ("park", r.AFTER_LOGOUT)
    assert out["p-browse"] == ("kim", r.AFTER_LOGOUT)  # a device with one span is looked up
    n_spans = duck.scalar("SELECT COUNT(*) FROM identity_map WHERE cid = 'TAB'")
    assert n_spans == LOOKUP_MAX_SPANS + 8


def test_ties_at_one_timestamp_break_on_event_key(duck: DuckDBBackend) -> None:
    rows = [
        ev("k2", 1, "C1", "bob"),
        ev("k1", 1, "C1", "alice"),
        ev("k3", 1, "C1"),
        ev("k0", 1, "C1"),
    ]
    assert stitched(duck, rows) == {
        "k0": ("alice", r.BACKFILL),
        "k1": ("alice", r.LOGIN),
        "k2": ("bob", r.LOGIN),
        "k3": ("bob", r.AFTER_LOGOUT),
    }


def test_shared_device_keeps_logins_and_withholds_anonymous_events(duck: DuckDBBackend) -> None:
    rows = [
        ev("a", 0, "C1", "u1"),
        ev("b", 1, "C1", "u2"),
        ev("c", 2, "C1"),
        ev("d", 3, "C1", "u3"),
        ev("e", 4, "C1"),
    ]
    assert stitched(duck, rows, max_users_per_device=2) == {
        "a": ("u1", r.LOGIN),
        "b": ("u2", r.LOGIN),
        "c": (None, r.SHARED_DEVICE),
        "d": ("u3", r.LOGIN),
        "e": (None, r.SHARED_DEVICE),
    }
    assert duck.query("SELECT n_uids, is_shared FROM identity_devices").to_pylist() == [
        {"n_uids": 3, "is_shared": True}
    ]
    assert set(duck.query("SELECT status FROM identity_map").column(0).to_pylist()) == {r.SHARED}
    assert stitched(duck, rows, max_users_per_device=2, attribute_shared_devices=True)["c"] == (
        "u2",
        r.AFTER_LOGOUT,
    )


def test_junk_uids_are_null_and_counted_case_insensitively(duck: DuckDBBackend) -> None:
    rows = [ev("a", 0, "C1", "NULL"), ev("b", 1, "C1", "Undefined"), ev("c", 2, "C1", "0000"),
            ev("d", 3, "C1", "test-42"), ev("e", 4, "C1", "  "), ev("f", 5, "C1", "alice"), ev("g", 6, None, "null")]  # fmt: skip
    out = stitched(duck, rows)
    assert out["a"] == ("alice", r.BACKFILL) and out["e"] == ("alice", r.BACKFILL)
    assert duck.scalar("SELECT SUM(events) FROM identity_junk") == 6
    assert duck.scalar("SELECT COUNT(*) FROM identity_links") == 1
    # Configurable: an empty blocklist and no patterns keep every non-NULL UID.
    assert stitched(duck, rows, junk_uids=[], junk_patterns=[])["a"] == ("NULL", r.LOGIN)


def test_junk_filter_matches_sql_semantics() -> None:
    junk = JunkFilter(IdentitySettings())
    assert (
        junk.is_junk(None)
        and junk.is_junk("GUEST")
        and junk.is_junk("000")
        and junk.is_junk("dummy_x")
    )
    assert not junk.is_junk("user-0") and not junk.is_junk(
        "a test"
    )  # patterns are anchored where written


def test_junk_patterns_are_checked_as_the_warehouses_run_them() -> None:
    """RE2, not Python's `re`: a lookahead compiles in Python but fails every identity query."""
    with pytest.raises(ValueError, match=r"(?s)junk_patterns.*not a valid RE2 regular expression"):
        IdentitySettings(junk_patterns=[r"^(?!U)"])
    assert JunkFilter(IdentitySettings(junk_patterns=[r"^\pL+$"])).is_junk("abc")  # RE2-only


def test_suspicious_uid_is_never_stitched_to_anonymous_events(duck: DuckDBBackend) -> None:
    # 'bot' logs in on 3 devices (cap 2): suspicious. Its own logins keep it unless configured.
    rows = [ev("a", 0, "C1"), ev("b", 1, "C1", "bot"), ev("c", 2, "C1"), ev("d", 3, "C2", "bot"),
            ev("e", 4, "C3", "bot"), ev("f", 5, "C3", "alice"), ev("g", 6, "C3"), ev("h", 7, None, "bot")]  # fmt: skip
    out = stitched(duck, rows, max_devices_per_user=2, include_consent_denied=True)
    assert out["a"] == (None, r.SUSPICIOUS_UID) and out["c"] == (None, r.SUSPICIOUS_UID)
    assert out["b"] == ("bot", r.SUSPICIOUS_UID) and out["h"] == ("bot", r.CONSENT_DENIED)
    assert out["g"] == ("alice", r.AFTER_LOGOUT)
    # Suspicious UIDs are not people: C3 has one person and is not shared.
    assert duck.scalar("SELECT is_shared FROM identity_devices WHERE cid = 'C3'") is False
    strict = stitched(
        duck,
        rows,
        max_devices_per_user=2,
        include_consent_denied=True,
        keep_suspicious_logins=False,
    )
    assert strict["b"] == (None, r.SUSPICIOUS_UID) and strict["h"] == (None, r.CONSENT_DENIED)


def test_consent_denied_rows_are_never_stitched_to_others(duck: DuckDBBackend) -> None:
    rows = [
        ev("a", 0, None),
        ev("b", 1, None, "alice"),
        ev("c", 2, "C1", "alice"),
        ev("d", 3, None, "bob"),
    ]
    assert stitched(duck, rows) == {"a": (None, r.CONSENT_DENIED), "b": (None, r.CONSENT_DENIED),
                                    "c": ("alice", r.LOGIN), "d": (None, r.CONSENT_DENIED)}  # fmt: skip
    included = stitched(duck, rows, include_consent_denied=True)
    assert included["a"] == (None, r.CONSENT_DENIED) and included["b"] == (
        "alice",
        r.CONSENT_DENIED,
    )
    assert included["d"] == ("bob", r.CONSENT_DENIED)
    # They are not evidence: no link without a CID.
    assert duck.query("SELECT cid, uid FROM identity_links").to_pylist() == [
        {"cid": "C1", "uid": "alice"}
    ]


def test_late_login_recomputes_backfill_of_old_days_incrementally(duck: DuckDBBackend) -> None:
    ident = IdentitySettings(max_devices_per_user=2)
    day1 = [ev("a", 0, "C1"), ev("b", 1, "C1", "u"), ev("c", 2, "C2", "u"), ev("d", 3, "C9")]
    day3 = [ev("e", 50, "C3", "u"), ev("f", 51, "C9", "v")]  # u now on 3 devices; C9's first login
    restage(duck, day1, ["20240301"])
    assert build_identity(duck, ident).mode == "full"
    assert duck.scalar("SELECT stitched_uid FROM stitched_events WHERE event_key = 'a'") == "u"
    restage(duck, day1 + day3, ["20240303"])
    report = build_identity(duck, ident, changed_dates=["20240303"])
    assert report.mode == "incremental"
    # C1 had no new event, but u turned suspicious: its backfill is withdrawn.
    assert duck.query(
        "SELECT stitched_uid, attribution FROM stitched_events WHERE event_key = 'a'"
    ).to_pylist() == [{"stitched_uid": None, "attribution": r.SUSPICIOUS_UID}]
    assert duck.scalar("SELECT stitched_uid FROM stitched_events WHERE event_key = 'd'") == "v"
    with DuckDBBackend() as full:
        full.load_arrow("stg_events", stg_table(day1 + day3), mode="replace")
        build_identity(full, ident, full_refresh=True)
        assert snapshot(full) == snapshot(duck)


def test_incremental_recomputes_a_cid_from_its_earliest_changed_event_on(
    duck: DuckDBBackend,
) -> None:
    ident = IdentitySettings()
    day1 = [ev("a", 0, "C1", "alice"), ev("b", 1, "C1"), ev("c", 20, "C1"),
            ev("h", 0, "C2", "dave"), ev("i", 2, "C2"), ev("k", 5, "C2")]  # fmt: skip
    # Day 2 brings late events (staged under 20240302, timed on day 1): the cut of C1 is g (10h),
    # that of C2 is j, which ties with i at 2h but sorts after it on the key.
    day2 = [ev("g", 10, "C1", "carol", lag=1), ev("d", 30, "C1"), ev("e", 31, "C1", "bob"),
            ev("f", 32, "C1"), ev("j", 2, "C2", "erin", lag=1)]  # fmt: skip
    restage(duck, day1, ["20240301"])
    assert build_identity(duck, ident).mode == "full"
    restage(duck, day1 + day2, ["20240302"])
    report = build_identity(duck, ident, changed_dates=["20240302"])
    # Only the suffixes are recomputed: g c d e f on C1, j k on C2 (a, b, h, i stay as they are).
    assert (report.mode, report.cids_recomputed, report.events_recomputed) == ("incremental", 2, 7)
    labels = {x["event_key"]: (x["stitched_uid"], x["attribution"]) for x in duck.query(
        "SELECT event_key, stitched_uid, attribution FROM stitched_events").to_pylist()}  # fmt: skip
    assert labels["c"] == ("carol", r.AFTER_LOGOUT) and labels["i"] == ("dave", r.AFTER_LOGOUT)
    assert labels["k"] == ("erin", r.AFTER_LOGOUT)
    intervals = duck.query("SELECT cid, uid, interval_no, valid_from_key, valid_to_key "
                           "FROM identity_map ORDER BY cid, interval_no").to_pylist()  # fmt: skip
    assert [tuple(x.values()) for x in intervals] == [
        ("C1", "alice", 1, "a", "g"),
        ("C1", "carol", 2, "g", "e"),
        ("C1", "bob", 3, "e", None),
        ("C2", "dave", 1, "h", "j"),
        ("C2", "erin", 2, "j", None),
    ]
    with DuckDBBackend() as full:
        full.load_arrow("stg_events", stg_table(day1 + day2), mode="replace")
        build_identity(full, ident, full_refresh=True)
        assert snapshot(full) == snapshot(duck)


def test_run_modes(duck: DuckDBBackend) -> None:
    rows = [ev("a", 0, "C1", "u"), ev("b", 30, "C1")]
    duck.load_arrow("stg_events", stg_table(rows), mode="replace")
    ident = IdentitySettings()
    assert build_identity(duck, ident).reason.startswith("missing")
    assert build_identity(duck, ident).mode == "full"  # no stg_shards: cannot tell what changed
    assert build_identity(duck, ident, changed_dates=[]).mode == "noop"
    assert build_identity(duck, ident, changed_dates=["20240302"]).mode == "incremental"
    changed = IdentitySettings(max_users_per_device=5)
    assert (
        build_identity(duck, changed, changed_dates=["20240302"]).reason
        == "identity settings or table layout changed"
    )
    assert not any(duck.table_exists(name) for name in t.SCRATCH)


def test_changed_dates_come_from_stg_shards(duck: DuckDBBackend) -> None:
    rows = [ev("a", 0, "C1", "u"), ev("b", 30, "C1")]
    restage(duck, rows, ["20240301", "20240302"])
    duck.execute("CREATE TABLE stg_shards (shard STRING, staged_at TIMESTAMP)")
    duck.execute("INSERT INTO stg_shards VALUES ('events_20240301', TIMESTAMP '2024-03-02 01:00:00'), "
                 "('events_20240302', TIMESTAMP '2024-03-03 01:00:00')")  # fmt: skip
    ident = IdentitySettings()
    assert build_identity(duck, ident).mode == "full"
    assert build_identity(duck, ident).mode == "noop"
    duck.execute(
        "UPDATE stg_shards SET staged_at = TIMESTAMP '2024-03-04 01:00:00' WHERE shard = 'events_20240302'"
    )
    report = build_identity(duck, ident)
    assert (report.mode, report.changed_dates) == ("incremental", ["20240302"])


def test_missing_stg_events_is_an_input_error(duck: DuckDBBackend) -> None:
    with pytest.raises(InputError, match="stg_events"):
        build_identity(duck, IdentitySettings())


def test_runs_after_a_staging_rebuild_or_a_failed_rebuild_are_full(
    duck: DuckDBBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three ways the incremental run went on over tables it could not trust: a staging full
    refresh that dropped a date (its stitched rows and links stayed, stitching later events),
    other staging params (rows inserted by position: tab_name held models), and a full rebuild
    that failed half-way (the old state passed it for finished)."""
    from datetime import date

    from cdp.config import ParamColumn, StagingSettings
    from cdp.errors import BackendError
    from cdp.ga4.staging import stage
    from tests.export_builder import event, write_shard

    write_shard(duck, "events_20240301", [event("20240301", "C1", "page_view", 10, uid="alice")])
    write_shard(duck, "events_20240302", [event("20240302", "C1", "page_view", 10)])
    stage(duck, StagingSettings())
    assert build_identity(duck, IdentitySettings()).mode == "full"
    stage(duck, StagingSettings(first_date=date(2024, 3, 2)), full_refresh=True)
    report = build_identity(duck, IdentitySettings())
    assert report.mode == "full", report.reason
    assert duck.query("SELECT stitched_uid FROM stitched_events").column(0).to_pylist() == [None]

    stage(duck, StagingSettings(extra_params=[ParamColumn(key="tab_name")]), full_refresh=True)
    assert build_identity(duck, IdentitySettings()).mode == "full"
    assert "tab_name" in duck.column_names("stitched_events")

    real = DuckDBBackend.execute

    def fail_on_stitched(self: DuckDBBackend, sql: Any, params: Any = None) -> None:
        if "TABLE stitched_events" in str(sql):
            raise BackendError("DuckDB: out of memory (injected)")
        real(self, sql, params)

    monkeypatch.setattr(DuckDBBackend, "execute", fail_on_stitched)
    with pytest.raises(BackendError):
        build_identity(duck, IdentitySettings(), full_refresh=True)
    monkeypatch.setattr(DuckDBBackend, "execute", real)
    report = build_identity(duck, IdentitySettings())
    assert report.mode == "full" and report.reason == "no previous run"
