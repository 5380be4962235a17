"""`build_identity`: links, flags, devices, the map and per-event attribution, full or incremental.

An incremental run recomputes only the CIDs whose inputs changed, from their earliest change on,
and yields exactly what a full rebuild yields (see `plan` for the algorithm;
`tests/test_identity_properties.py` checks it).
Which shard dates changed comes from the caller or from `stg_shards.staged_at` since the last run.
A change of the identity settings or of the tables' layout (`rules.LAYOUT_VERSION`), a missing
output or `full_refresh` forces a full rebuild.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from cdp.backends.base import Backend
from cdp.config import IdentitySettings
from cdp.identity import plan
from cdp.identity import tables as t
from cdp.identity.rules import params, settings_hash

log = logging.getLogger(__name__)

Mode = Literal["full", "incremental", "noop"]
_OUTPUTS = (t.LINK_SESSIONS, t.LINKS, t.FLAGS, t.DEVICES, t.STITCHED, t.MAP, t.JUNK, t.STATE)


@dataclass
class IdentityReport:
    mode: Mode
    reason: str
    changed_dates: list[str] = field(default_factory=list)
    cids_recomputed: int = 0
    events_recomputed: int = 0
    links: int = 0
    uids: int = 0
    suspicious_uids: int = 0
    devices_with_login: int = 0
    shared_devices: int = 0
    junk_events: int = 0
    junk_values: int = 0
    seconds: float = 0.0


def build_identity(
    backend: Backend,
    settings: IdentitySettings,
    *,
    full_refresh: bool = False,
    changed_dates: Sequence[str] | None = None,
) -> IdentityReport:
    """Bring the identity tables up to date with `stg_events`.

    `changed_dates`: the shard dates (YYYYMMDD) staging replaced since the last run, all of them;
    None reads them from `stg_shards`. Staging replaces whole dates, so a date's old rows are
    found in `stitched_events` and its new ones in `stg_events`; on every other date the two
    tables hold the same rows, which the incremental run relies on.
    """
    started = time.perf_counter()
    if not backend.table_exists(t.STG_EVENTS):
        from cdp.errors import InputError

        raise InputError("stg_events does not exist: run staging first")
    values = params(settings)
    fingerprint = settings_hash(settings)
    has_shards = backend.table_exists(t.STG_SHARDS)
    backend.execute(plan.WATERMARK_SQL if has_shards else plan.WATERMARK_EMPTY_SQL)
    backend.execute(plan.STATE_CREATE_SQL)

    reason = _full_reason(backend, fingerprint, full_refresh, has_shards)
    dates: list[str] = []
    if reason is None:
        if changed_dates is not None:
            dates = sorted(set(changed_dates))
        elif has_shards:
            shards = backend.query(plan.CHANGED_SHARDS_SQL).column(0).to_pylist()
            dates = sorted({str(s)[-8:] for s in shards})
        else:
            reason = "no stg_shards to tell which dates changed"

    state_params = {"settings_hash": fingerprint}
    if reason is not None:
        report = IdentityReport(mode="full", reason=reason)
        # No state while rebuilding: a rebuild failing half-way must not pass for a finished
        # one (the next run would go incremental over half-replaced tables).
        backend.execute(f"DELETE FROM {t.STATE} WHERE TRUE")
        for statement in plan.full_plan(settings):
            backend.execute(statement.sql, values)
        backend.atomic(plan.STATE_WRITE_SQL, {**state_params, "mode": "full"})
        report.events_recomputed = int(backend.scalar(f"SELECT COUNT(*) FROM {t.STITCHED}") or 0)
        report.cids_recomputed = int(backend.scalar(f"SELECT COUNT(*) FROM {t.FIRST_EVENTS}") or 0)
    elif not dates:
        report = IdentityReport(mode="noop", reason="no shard date changed")
    else:
        report = IdentityReport(
            mode="incremental", reason="changed shard dates", changed_dates=dates
        )
        run_params = {**values, "changed_dates": dates}
        empty: dict[str, bool] = {}
        for statement in plan.incremental_prepare(settings):
            if not _skip(backend, statement, empty):
                backend.execute(statement.sql, run_params)
        report.cids_recomputed = int(backend.scalar(f"SELECT COUNT(*) FROM {t.SCOPE}") or 0)
        report.events_recomputed = int(backend.scalar(f"SELECT COUNT(*) FROM {t.LABELS}") or 0)
        swap = [s.sql for s in plan.incremental_swap(settings) if not _skip(backend, s, empty)]
        swap += plan.STATE_WRITE_SQL
        backend.atomic(swap, {**run_params, **state_params, "mode": "incremental"})
    for scratch in t.SCRATCH:
        backend.execute(f"DROP TABLE IF EXISTS {scratch}")
    _summarise(backend, report)
    report.seconds = time.perf_counter() - started
    log.info(
        "identity %s (%s): %d CIDs / %d events recomputed; %d links, %d suspicious UIDs, "
        "%d shared devices, %d junk-UID events",
        report.mode, report.reason, report.cids_recomputed, report.events_recomputed, report.links,
        report.suspicious_uids, report.shared_devices, report.junk_events,
    )  # fmt: skip
    return report


def _skip(backend: Backend, statement: plan.Statement, empty: dict[str, bool]) -> bool:
    """Whether `statement` can be skipped: the scratch table it depends on has no row."""
    table = statement.unless_empty
    if table is None:
        return False
    if table not in empty:
        empty[table] = backend.scalar(f"SELECT COUNT(*) FROM {table}") == 0
    return empty[table]


def _full_reason(
    backend: Backend, fingerprint: str, requested: bool, has_shards: bool
) -> str | None:
    if requested:
        return "full refresh requested"
    missing = [name for name in _OUTPUTS if not backend.table_exists(name)]
    if missing:
        return f"missing {', '.join(missing)}"
    state = backend.query(plan.STATE_READ_SQL)
    if state.num_rows == 0:
        return "no previous run"
    if state.column("settings_hash")[0].as_py() != fingerprint:
        return "identity settings or table layout changed"
    staged = set(backend.column_names(t.STG_EVENTS))
    if staged != set(backend.column_names(t.STITCHED)) - {"stitched_uid", "attribution"}:
        return "stg_events has other columns (staging params changed)"
    if has_shards:
        # Every shard staged after the last run: staging was rebuilt (a full refresh), which
        # may have dropped dates an incremental run would never look at.
        oldest = backend.scalar(f"SELECT MIN(staged_at) FROM {t.STG_SHARDS}")
        watermark = state.column("staged_watermark")[0].as_py()
        if oldest is not None and watermark is not None and oldest > watermark:
            return "stg_events was rebuilt since the last run"
    return None


_SUMMARY_SQL = f"""
SELECT
  (SELECT COUNT(*) FROM {t.LINKS}) AS links,
  (SELECT COUNT(*) FROM {t.FLAGS}) AS uids,
  (SELECT COUNTIF(is_suspicious) FROM {t.FLAGS}) AS suspicious_uids,
  (SELECT COUNT(*) FROM {t.DEVICES}) AS devices_with_login,
  (SELECT COUNTIF(is_shared) FROM {t.DEVICES}) AS shared_devices,
  (SELECT SUM(events) FROM {t.JUNK}) AS junk_events,
  (SELECT COUNT(DISTINCT uid) FROM {t.JUNK}) AS junk_values
"""


def _summarise(backend: Backend, report: IdentityReport) -> None:
    row = backend.query(_SUMMARY_SQL).to_pylist()[0]
    report.links = int(row["links"] or 0)
    report.uids = int(row["uids"] or 0)
    report.suspicious_uids = int(row["suspicious_uids"] or 0)
    report.devices_with_login = int(row["devices_with_login"] or 0)
    report.shared_devices = int(row["shared_devices"] or 0)
    report.junk_events = int(row["junk_events"] or 0)
    report.junk_values = int(row["junk_values"] or 0)
