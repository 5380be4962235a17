"""Property tests of the identity rules on random event streams, against DuckDB.

One in-memory DuckDB per example. The pure-Python reference (`cdp.identity.reference`) is the
oracle for every event's stitched UID; the other properties hold whatever the rules are.
"""

from __future__ import annotations

import itertools
import os
import random
from collections import defaultdict
from typing import Any
from unittest.mock import patch

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdp.backends.base import Backend
from cdp.backends.duckdb import DuckDBBackend
from cdp.config import IdentitySettings
from cdp.identity import build_identity, intervals
from cdp.identity import rules as r
from cdp.identity.reference import stitch
from tests.identity_strategies import event_streams, identity_settings, restage, snapshot, stg_table

FAST = settings(
    max_examples=int(os.environ.get("CDP_PROPERTY_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


# How many spans a CID may have and still be looked up (`intervals.LOOKUP_MAX_SPANS`): small
# limits send most CIDs of a random stream through the full rebuild's per-event pass instead.
lookup_limits = st.sampled_from([0, 1, 2, intervals.LOOKUP_MAX_SPANS])


def _fresh(
    rows: list[dict[str, Any]], ident: IdentitySettings, lookup_limit: int | None = None
) -> DuckDBBackend:
    backend = DuckDBBackend(":memory:")
    backend.load_arrow("stg_events", stg_table(rows), mode="replace")
    limit = intervals.LOOKUP_MAX_SPANS if lookup_limit is None else lookup_limit
    with patch.object(intervals, "LOOKUP_MAX_SPANS", limit):
        build_identity(backend, ident, full_refresh=True)
    return backend


@FAST
@given(rows=event_streams(), ident=identity_settings(), lookup_limit=lookup_limits)
def test_sql_agrees_with_reference_and_invariants_hold(
    rows: list[dict[str, Any]], ident: IdentitySettings, lookup_limit: int
) -> None:
    with _fresh(rows, ident, lookup_limit) as db:
        ref = stitch(rows, ident)
        stitched = {
            x["event_key"]: x for x in db.query("SELECT * FROM stitched_events").to_pylist()
        }
        assert len(stitched) == len(rows)  # every staged event, once
        assert {
            k: (x["stitched_uid"], x["attribution"]) for k, x in stitched.items()
        } == ref.stitched

        # Every link has evidence: the events carrying both ids, counted exactly.
        links = {
            (x["cid"], x["uid"]): x for x in db.query("SELECT * FROM identity_links").to_pylist()
        }
        assert {
            k: (v["first_seen"], v["last_seen"], v["events"], v["sessions"])
            for k, v in links.items()
        } == {
            k: (v["first_seen"], v["last_seen"], v["events"], v["sessions"])
            for k, v in ref.links.items()
        }
        # No event is attributed to a UID that never logged in on its CID.
        for x in stitched.values():
            if x["stitched_uid"] is not None and x["cid"] is not None:
                assert (x["cid"], x["stitched_uid"]) in links
            if x["cid"] is None:
                assert x["attribution"] == r.CONSENT_DENIED
                assert x["stitched_uid"] is None or (
                    ident.include_consent_denied and x["stitched_uid"] == x["uid"]
                )

        flags = {
            x["uid"]: x["is_suspicious"]
            for x in db.query("SELECT * FROM identity_flags").to_pylist()
        }
        assert {u for u, s in flags.items() if s} == ref.suspicious
        shared = {
            x["cid"]
            for x in db.query("SELECT cid FROM identity_devices WHERE is_shared").to_pylist()
        }
        assert shared == ref.shared
        junk = db.scalar("SELECT COALESCE(SUM(events), 0) FROM identity_junk")
        assert junk == ref.junk_events
        # The map holds the reference's intervals, bounds and status included.
        assert {
            (x["cid"], x["uid"], x["interval_no"], (x["valid_from"], x["valid_from_key"]),
             None if x["valid_to"] is None else (x["valid_to"], x["valid_to_key"]), x["status"])
            for x in db.query("SELECT * FROM identity_map").to_pylist()
        } == {
            (i.cid, i.uid, i.interval_no, i.valid_from, i.valid_to, i.status) for i in ref.intervals
        }  # fmt: skip

        _assert_map_is_a_function_consistent_with_events(db, stitched)


def _assert_map_is_a_function_consistent_with_events(db: Backend, stitched: dict[str, Any]) -> None:
    intervals: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in db.query("SELECT * FROM identity_map").to_pylist():
        intervals[row["cid"]].append(row)
    for cid, rows in intervals.items():
        rows.sort(key=lambda x: x["interval_no"])
        assert [x["interval_no"] for x in rows] == list(range(1, len(rows) + 1))
        for before, after in itertools.pairwise(rows):
            # Contiguous, non-overlapping, and a new interval means a new UID.
            assert (before["valid_to"], before["valid_to_key"]) == (
                after["valid_from"],
                after["valid_from_key"],
            )
            assert before["uid"] != after["uid"]
            assert (before["valid_from"], before["valid_from_key"]) < (
                after["valid_from"],
                after["valid_from_key"],
            )
        assert rows[-1]["valid_to"] is None and rows[-1]["valid_to_key"] is None
        events = sorted(
            (x for x in stitched.values() if x["cid"] == cid),
            key=lambda x: (x["event_ts"], x["event_key"]),
        )
        assert (events[0]["event_ts"], events[0]["event_key"]) == (
            rows[0]["valid_from"],
            rows[0]["valid_from_key"],
        )
        for event in events:
            position = (event["event_ts"], event["event_key"])
            [hit] = [
                x for x in rows
                if (x["valid_from"], x["valid_from_key"]) <= position
                and (x["valid_to"] is None or position < (x["valid_to"], x["valid_to_key"]))
            ]  # fmt: skip
            if event["attribution"] in (r.LOGIN, r.BACKFILL, r.AFTER_LOGOUT):
                assert hit["uid"] == event["stitched_uid"]
            elif event["attribution"] == r.SHARED_DEVICE:
                assert hit["status"] == r.SHARED
            elif event["attribution"] == r.SUSPICIOUS_UID:
                assert hit["status"] == r.SUSPICIOUS
    for event in stitched.values():
        if event["cid"] is not None and event["cid"] not in intervals:
            assert event["attribution"] == r.NONE


@FAST
@given(
    rows=event_streams(),
    ident=identity_settings(),
    seed=st.integers(0, 2**16),
    parts=st.integers(1, 4),
)
def test_input_order_and_load_split_do_not_matter(
    rows: list[dict[str, Any]], ident: IdentitySettings, seed: int, parts: int
) -> None:
    shuffled = rows[:]
    random.Random(seed).shuffle(shuffled)
    with _fresh(rows, ident) as ordered, DuckDBBackend(":memory:") as split:
        chunks = [shuffled[i::parts] for i in range(parts)]
        split.load_arrow("stg_events", stg_table(chunks[0]), mode="replace")
        for chunk in chunks[1:]:
            split.load_arrow("stg_events", stg_table(chunk), mode="append")
        build_identity(split, ident, full_refresh=True)
        assert snapshot(split) == snapshot(ordered)


@FAST
@given(rows=event_streams(), ident=identity_settings())
def test_running_again_changes_nothing(rows: list[dict[str, Any]], ident: IdentitySettings) -> None:
    with _fresh(rows, ident) as db:
        first = snapshot(db)
        dates = sorted({x["shard_date"] for x in rows})
        assert build_identity(db, ident, changed_dates=[]).mode == "noop"
        assert build_identity(db, ident, changed_dates=dates).mode in ("incremental", "noop")
        assert snapshot(db) == first
        build_identity(db, ident, full_refresh=True)
        assert snapshot(db) == first


@st.composite
def _staging_runs(
    draw: st.DrawFn,
) -> tuple[list[dict[str, Any]], list[list[str]], list[bool], bool]:
    rows = draw(event_streams())
    dates = sorted({x["shard_date"] for x in rows}) or ["20240301"]
    cuts = sorted(
        draw(st.sets(st.integers(1, max(1, len(dates) - 1)), min_size=len(dates) > 1, max_size=3))
    )
    batches = [
        dates[a:b] for a, b in zip([0, *cuts], [*cuts, len(dates)], strict=False) if dates[a:b]
    ]
    partial = draw(st.lists(st.booleans(), min_size=len(batches), max_size=len(batches)))
    lookback = draw(st.booleans())
    return rows, batches, partial, lookback


@FAST
@given(
    run=_staging_runs(),
    ident=identity_settings(),
    seed=st.integers(0, 2**16),
    lookup_limit=lookup_limits,
)
def test_incremental_equals_full_rebuild(
    run: tuple[list[dict[str, Any]], list[list[str]], list[bool], bool],
    ident: IdentitySettings,
    seed: int,
    lookup_limit: int,
) -> None:
    rows, batches, partial, lookback = run
    rng = random.Random(seed)
    with DuckDBBackend(":memory:") as inc, _fresh(rows, ident, lookup_limit) as full:
        previous: list[str] = []
        modes = []
        for batch, provisional in zip(batches, partial, strict=True):
            if provisional:  # an intraday version first: some of the day's events, replaced later
                restage(inc, [x for x in rows if rng.random() < 0.5], batch)
                modes.append(build_identity(inc, ident, changed_dates=batch).mode)
            # The daily shards, with or without re-staging the previous batch (the lookback window).
            dates = previous + batch
            restage(inc, rows, dates)
            modes.append(build_identity(inc, ident, changed_dates=dates).mode)
            previous = batch if lookback else []
        # Only the first build is a full one: every later one ran incrementally.
        assert modes[0] == "full" and set(modes[1:]) <= {"incremental"}
        assert snapshot(inc) == snapshot(full)
