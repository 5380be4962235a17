"""Identity metrics, per day (table `identity_daily`) and overall (`identity_stats`).

Identification rate: the share of CIDs, events and sessions with a stitched UID (a CID or a
session counts as identified when any of its events is). CRM match rate: the share of profiles
(UIDs) matched to a CRM record; per day, of the UIDs identified that day. Consent-denied rows
count as events but have no CID or session.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa

from cdp.backends.base import Backend
from cdp.errors import BackendError, InputError
from cdp.identity import tables as t
from cdp.identity.links import shared_devices, suspicious_uids
from cdp.identity.profiles import describe_sample, unmatched_sample


def _counts(alias: str = "") -> str:
    """Event, CID and session counts over `stitched_events` rows (`alias`: their table alias)."""
    a = f"{alias}." if alias else ""
    return f"""
  COUNT(*) AS events,
  COUNTIF({a}stitched_uid IS NOT NULL) AS identified_events,
  COUNT(DISTINCT {a}cid) AS cids,
  COUNT(DISTINCT IF({a}stitched_uid IS NOT NULL, {a}cid, NULL)) AS identified_cids,
  COUNT(DISTINCT {a}session_key) AS sessions,
  COUNT(DISTINCT IF({a}stitched_uid IS NOT NULL, {a}session_key, NULL)) AS identified_sessions,
  COUNTIF({a}attribution IN ('backfill', 'after_logout')) AS stitched_anonymous_events,
  COUNTIF({a}attribution = 'shared_device') AS shared_device_events,
  COUNTIF({a}attribution = 'suspicious_uid') AS suspicious_uid_events,
  COUNTIF({a}cid IS NULL) AS consent_denied_events"""


def daily_sql(with_profiles: bool) -> str:
    """`identity_daily`: per event date, the overall figures for that day's events.

    The devices, UIDs and CRM matches counted are those active that day: shared devices with an
    event, suspicious UIDs logged in, identified UIDs and how many of them a CRM record matched
    (NULL until `profiles` exists, `with_profiles` False).
    """
    crm_join = (
        f"LEFT JOIN (SELECT uid FROM {t.PROFILES} WHERE crm_matched) AS p ON p.uid = s.stitched_uid"
        if with_profiles
        else ""
    )
    crm_matched = "COUNT(DISTINCT p.uid)" if with_profiles else "CAST(NULL AS INT64)"
    return f"""
CREATE OR REPLACE TABLE {t.DAILY} AS
WITH days AS (
  SELECT
    s.event_date,{_counts("s")},
    COUNT(DISTINCT d.cid) AS shared_devices,
    COUNT(DISTINCT f.uid) AS suspicious_uids,
    COUNT(DISTINCT s.stitched_uid) AS uids,
    {crm_matched} AS crm_matched_uids
  FROM {t.STITCHED} AS s
  LEFT JOIN {shared_devices(t.DEVICES)} AS d ON d.cid = s.cid
  LEFT JOIN {suspicious_uids(t.FLAGS)} AS f ON f.uid = s.uid
  {crm_join}
  GROUP BY s.event_date
),
junk AS (
  SELECT event_date, CAST(SUM(events) AS INT64) AS junk_uid_events
  FROM {t.JUNK}
  GROUP BY event_date
)
SELECT
  d.*,
  COALESCE(j.junk_uid_events, 0) AS junk_uid_events,
  SAFE_DIVIDE(d.identified_cids, d.cids) AS cid_identification_rate,
  SAFE_DIVIDE(d.identified_events, d.events) AS event_identification_rate,
  SAFE_DIVIDE(d.identified_sessions, d.sessions) AS session_identification_rate,
  SAFE_DIVIDE(d.crm_matched_uids, d.uids) AS crm_match_rate
FROM days AS d
LEFT JOIN junk AS j ON j.event_date = d.event_date
"""


OVERALL_SQL = f"""
SELECT{_counts()},
  (SELECT COUNT(*) FROM {t.FLAGS}) AS uids,
  (SELECT COUNTIF(is_suspicious) FROM {t.FLAGS}) AS suspicious_uids,
  (SELECT COUNT(*) FROM {t.DEVICES}) AS devices_with_login,
  (SELECT COUNTIF(is_shared) FROM {t.DEVICES}) AS shared_devices,
  (SELECT COALESCE(SUM(events), 0) FROM {t.JUNK}) AS junk_uid_events,
  (SELECT COUNT(DISTINCT uid) FROM {t.JUNK}) AS junk_uid_values
FROM {t.STITCHED}
"""

PROFILES_SQL = f"SELECT COUNT(*) AS profiles, COUNTIF(crm_matched) AS crm_matched FROM {t.PROFILES}"


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


@dataclass
class IdentityStats:
    events: int = 0
    identified_events: int = 0
    cids: int = 0
    identified_cids: int = 0
    sessions: int = 0
    identified_sessions: int = 0
    stitched_anonymous_events: int = 0
    shared_device_events: int = 0
    suspicious_uid_events: int = 0
    consent_denied_events: int = 0
    uids: int = 0
    suspicious_uids: int = 0
    devices_with_login: int = 0
    shared_devices: int = 0
    junk_uid_events: int = 0
    junk_uid_values: int = 0
    profiles: int | None = None  # None: profiles not built yet
    crm_matched: int | None = None
    crm_unmatched_sample: list[str] = field(default_factory=list)
    daily: list[dict[str, Any]] = field(default_factory=list)

    @property
    def cid_identification_rate(self) -> float | None:
        return _rate(self.identified_cids, self.cids)

    @property
    def event_identification_rate(self) -> float | None:
        return _rate(self.identified_events, self.events)

    @property
    def session_identification_rate(self) -> float | None:
        return _rate(self.identified_sessions, self.sessions)

    @property
    def crm_match_rate(self) -> float | None:
        return (
            _rate(self.crm_matched or 0, self.profiles or 0) if self.profiles is not None else None
        )

    def rows(self) -> list[tuple[str, str]]:
        """(metric, value) pairs for printing, rates as percentages."""
        out = [
            ("CIDs identified", f"{self.identified_cids:,} / {self.cids:,} ({_pct(self.cid_identification_rate)})"),
            ("events identified", f"{self.identified_events:,} / {self.events:,} ({_pct(self.event_identification_rate)})"),
            ("sessions identified",
             f"{self.identified_sessions:,} / {self.sessions:,} ({_pct(self.session_identification_rate)})"),
            ("anonymous events stitched", f"{self.stitched_anonymous_events:,}"),
            ("UIDs", f"{self.uids:,}"),
            ("suspicious UIDs", f"{self.suspicious_uids:,} ({self.suspicious_uid_events:,} events)"),
            ("shared devices", f"{self.shared_devices:,} / {self.devices_with_login:,} with a login "
                               f"({self.shared_device_events:,} events unattributed)"),
            ("junk UIDs dropped", f"{self.junk_uid_events:,} events, {self.junk_uid_values:,} distinct values"),
            ("consent-denied events", f"{self.consent_denied_events:,}"),
        ]  # fmt: skip
        if self.profiles is not None:
            matched = self.crm_matched or 0
            out.append(
                ("CRM match", f"{matched:,} / {self.profiles:,} UIDs ({_pct(self.crm_match_rate)})")
            )
            if self.profiles > matched:
                sample = describe_sample(self.crm_unmatched_sample, self.profiles - matched)
                out.append(("CRM unmatched UIDs", sample))
        return out

    #: What `daily_rows`' short column names stand for.
    DAILY_LEGEND = (
        "ev/CID/sess %: events, CIDs, sessions identified; shared: shared devices active; "
        "susp: suspicious UIDs logged in; junk: junk-UID events; CRM %: the day's UIDs matched"
    )

    def daily_rows(self) -> list[dict[str, str]]:
        """The per-day figures for printing (short column names: `DAILY_LEGEND`)."""
        return [
            {
                "date": str(d["event_date"]),
                "events": f"{d['events']:,}",
                "ev %": _pct(d["event_identification_rate"]),
                "CID %": _pct(d["cid_identification_rate"]),
                "sess %": _pct(d["session_identification_rate"]),
                "shared": f"{d['shared_devices']:,}",
                "susp": f"{d['suspicious_uids']:,}",
                "junk": f"{d['junk_uid_events']:,}",
                "CRM %": _pct(d["crm_match_rate"]),
            }
            for d in self.daily
        ]

    def as_table(self) -> pa.Table:
        """The per-day figures (one row per event_date)."""
        return pa.Table.from_pylist(self.daily)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def identity_stats(backend: Backend) -> IdentityStats:
    """Overall figures plus a refreshed `identity_daily` table (its rows in `.daily`)."""
    if not backend.table_exists(t.STITCHED):
        raise InputError("no identity tables yet: run the identity step first")
    row = backend.query(OVERALL_SQL).to_pylist()[0]
    stats = IdentityStats()
    for name, value in row.items():
        setattr(stats, name, int(value or 0))
    if backend.table_exists(t.PROFILES):
        prof = backend.query(PROFILES_SQL).to_pylist()[0]
        stats.profiles, stats.crm_matched = (
            int(prof["profiles"] or 0),
            int(prof["crm_matched"] or 0),
        )
        stats.crm_unmatched_sample = unmatched_sample(backend)
    try:
        backend.execute(daily_sql(with_profiles=stats.profiles is not None))
    except BackendError as err:  # e.g. tables built by an older version, before a layout change
        raise InputError(
            f"identity tables do not match this version: run the identity step ({err})"
        ) from err
    stats.daily = backend.query(f"SELECT * FROM {t.DAILY} ORDER BY event_date").to_pylist()
    return stats
