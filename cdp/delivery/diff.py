"""The diff, in the warehouse: desired rows per destination vs `delivery_state`.

Desired = the source (audience members minus holdout, or trigger firings due now) joined to
`profiles`, minus opted-out people and rows without a key, one row per key. Compared with the
destination's `delivery_state` rows it yields one plan row per key to act on:

- `add`:    no delivered row (or a failed/exited one, or a dead one whose payload changed)
- `update`: delivered, but the payload hash changed (data extensions, campaign members)
- `remove`: delivered (or failed, or dead after a delivery) but no longer desired (journey
            events are never removed; a `stuck` removal is not retried)

`_cdp_seq` numbers removals first (consent changes land before new sends), then upserts.

The SQL is GoogleSQL built as text from sqlglot-quoted identifiers and literals; config values
never reach it unquoted. Payload columns are aliased `v0..vN` (and `w0..wN` for a journey's
entry data extension) because destination field names need not be valid column names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlglot import exp

from cdp.delivery import tables as t
from cdp.delivery.config import (
    CampaignDestination,
    Constant,
    DataExtensionDestination,
    Destination,
    EntryDataExtension,
    JourneyDestination,
)
from cdp.errors import ConfigError

PROFILES = "profiles"
AUDIENCE_MEMBERS = "audience_members"
TRIGGER_FIRINGS = "trigger_firings"
#: columns the source relation computes itself
DERIVED = ("delivery_key",)


def _q(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql("bigquery")


def _lit(value: Constant) -> str:
    return exp.convert(value).sql("bigquery") if value is not None else "NULL"


@dataclass(frozen=True)
class PlanQuery:
    destination: str
    sql: str  # GoogleSQL: one row per key to act on, ordered by `_cdp_seq`
    fields: list[str]  # destination field of column v{i}
    de_fields: list[str] = field(default_factory=list)  # entry DE field of column w{i}
    key_fields: list[str] = field(default_factory=list)  # DE primary key: k{i} of the key JSON


def source_tables(dest: Destination) -> tuple[str, str]:
    return (PROFILES, AUDIENCE_MEMBERS if dest.source.audience is not None else TRIGGER_FIRINGS)


def _source(dest: Destination, columns: dict[str, list[str]]) -> tuple[str, set[str]]:
    """The joined source relation and its column names."""
    profiles, other = source_tables(dest)
    # On a shared name, an audience's bookkeeping gives way to the profile; a firing's context
    # does not: `model` is the car clicked, not a CRM attribute of the car owned.
    firing_wins = (
        set()
        if dest.source.audience is not None
        else {c for c in columns[other] if c not in ("uid", "crm_record_id")}
    )
    prof_cols = [c for c in columns[profiles] if c not in firing_wins]
    own = [c for c in columns[other] if c not in prof_cols]
    select = [f"p.{_q(c)}" for c in prof_cols] + [f"s.{_q(c)}" for c in own]
    if dest.source.audience is not None:
        where = [
            f"s.audience = {_lit(dest.source.audience)}",
            "NOT COALESCE(s.is_holdout, FALSE)",
        ]
    else:
        triggers = ", ".join(_lit(x) for x in dest.source.triggers or [])
        select.append("CONCAT(s.`trigger`, '|', s.uid, '|', s.start_event_key) AS delivery_key")
        where = [
            f"s.`trigger` IN ({triggers})",
            "(s.deliver_after IS NULL OR s.deliver_after <= @now)",
            "(s.expires_at IS NULL OR s.expires_at > @now)",
            "s.`trigger` NOT IN UNNEST(@held_triggers)",  # in quiet hours now
        ]
    where.append("NOT COALESCE(p.opted_out, FALSE)")  # consent: opted-out people are never sent
    sql = (
        f"SELECT {', '.join(select)} FROM {other} AS s JOIN {profiles} AS p ON p.uid = s.uid "
        f"WHERE {' AND '.join(where)}"
    )
    return sql, set(prof_cols) | set(own) | ({"delivery_key"} if dest.source.triggers else set())


def _column(name: str, available: set[str], dest: str, where: str) -> str:
    if name not in available:
        known = ", ".join(sorted(available))
        raise ConfigError(
            f"unknown warehouse column {name!r} (source has: {known})",
            field=f"destinations.{dest}.{where}",
        )
    return f"src.{_q(name)}"


def _mapped(
    fields: dict[str, str],
    constants: dict[str, Constant],
    available: set[str],
    dest: str,
    where: str,
) -> list[tuple[str, str]]:
    out = [(f, _column(c, available, dest, f"{where}.{f}")) for f, c in fields.items()]
    out += [(f, _lit(v)) for f, v in constants.items() if f not in fields]
    return out


def _de_key(de: EntryDataExtension, payload: list[tuple[str, str]]) -> tuple[str, list[str]]:
    exprs = dict(payload)
    parts = [f"CAST({exprs[k]} AS STRING) AS k{i}" for i, k in enumerate(de.primary_key)]
    return f"TO_JSON_STRING(STRUCT({', '.join(parts)}))", list(de.primary_key)


def plan_query(dest: Destination, columns: dict[str, list[str]]) -> PlanQuery:
    """The diff for one destination; `columns` lists each source table's columns."""
    src, available = _source(dest, columns)
    de_payload: list[tuple[str, str]] = []
    key_fields: list[str] = []
    if isinstance(dest, DataExtensionDestination):
        payload = _mapped(dest.fields, dest.constants, available, dest.name, "fields")
        if dest.removal == "flag":
            payload = [
                (f, e) for f, e in payload if f not in (dest.flag_field, dest.exited_at_field)
            ]
            payload.append((dest.flag_field, "TRUE"))
            if dest.exited_at_field:
                payload.append((dest.exited_at_field, "CAST(NULL AS TIMESTAMP)"))
        key, key_fields = _de_key(dest, payload)
        not_null = [f"{dict(payload)[k]} IS NOT NULL" for k in dest.primary_key]
    elif isinstance(dest, CampaignDestination):
        rid = _column("crm_record_id", available, dest.name, "source")
        kind = _column("record_type", available, dest.name, "source")
        key = f"CAST({rid} AS STRING)"
        payload = [
            (dest.external_id_field, f"CONCAT({_lit(dest.campaign_id)}, ':', {key})"),
            ("CampaignId", _lit(dest.campaign_id)),
            ("ContactId", f"IF({kind} = 'Lead', NULL, {rid})"),
            ("LeadId", f"IF({kind} = 'Lead', {rid}, NULL)"),
            ("Status", _lit(dest.status)),
        ]
        payload += _mapped(dest.fields, dest.constants, available, dest.name, "fields")
        not_null = [f"{rid} IS NOT NULL"]
    else:
        assert isinstance(dest, JourneyDestination)
        contact = _column(dest.contact_key, available, dest.name, "contact_key")
        payload = [("__contact_key", f"CAST({contact} AS STRING)")]
        payload += _mapped(dest.data, dest.constants, available, dest.name, "data")
        if dest.data_extension is not None:
            de = dest.data_extension
            de_payload = _mapped(de.fields, de.constants, available, dest.name, "data_extension")
        key = "src.delivery_key"
        not_null = [f"{contact} IS NOT NULL"]

    values = [f"{e} AS v{i}" for i, (_, e) in enumerate(payload)]
    values += [f"{e} AS w{i}" for i, (_, e) in enumerate(de_payload)]
    # The field names are hashed too: renaming a mapped field is a change to send.
    names = _lit(json.dumps([f for f, _ in payload] + [f for f, _ in de_payload]))
    hashed = ", ".join(
        ["keyed._cdp_key AS k", f"{names} AS fields"]
        + [f"keyed.v{i} AS v{i}" for i in range(len(payload))]
    )
    v_cols = [f"v{i}" for i in range(len(payload))] + [f"w{i}" for i in range(len(de_payload))]
    d_cols = ", ".join(f"d.{c}" for c in v_cols)
    name = _lit(dest.name)
    if isinstance(dest, JourneyDestination):
        # One event per occurrence: only never-tried keys and definite failures are sent.
        op = "'add'"
        join = "LEFT JOIN"
        where = "s.key IS NULL OR s.status = 'failed'"
    else:
        op = (
            "CASE WHEN d._cdp_key IS NULL THEN 'remove' "
            "WHEN s.key IS NULL OR s.status = 'exited' OR s.first_sent_at IS NULL THEN 'add' "
            "ELSE 'update' END"
        )
        join = "FULL OUTER JOIN"
        where = (
            "(d._cdp_key IS NOT NULL AND (s.key IS NULL OR s.status IN ('failed', 'exited') "
            "OR (s.status IN ('sent', 'dead', 'stuck') AND s.payload_hash != d._cdp_hash))) "
            "OR (d._cdp_key IS NULL AND (s.status IN ('sent', 'failed') "
            "OR (s.status = 'dead' AND s.first_sent_at IS NOT NULL)))"
        )  # a dead update left the earlier payload in place: it is still removed
    sql = f"""
WITH src AS ({src}),
keyed AS (
  SELECT {key} AS _cdp_key, {", ".join(values)}
  FROM src WHERE {" AND ".join(not_null)}
),
desired AS (
  SELECT keyed.*, TO_HEX(MD5(TO_JSON_STRING(STRUCT({hashed})))) AS _cdp_hash
  FROM keyed WHERE TRUE
  QUALIFY ROW_NUMBER() OVER (PARTITION BY keyed._cdp_key ORDER BY _cdp_hash) = 1
),
state AS (SELECT * FROM {t.STATE} WHERE destination = {name}),
diff AS (
  SELECT {op} AS _cdp_op, COALESCE(d._cdp_key, s.key) AS _cdp_key,
    COALESCE(d._cdp_hash, s.payload_hash) AS _cdp_hash, s.payload_hash AS _cdp_prev_hash,
    s.status AS _cdp_status, s.remote_id AS _cdp_remote_id, s.owned AS _cdp_owned,
    COALESCE(s.attempts, 0) AS _cdp_attempts, s.first_sent_at AS _cdp_first_sent_at{", " + d_cols if d_cols else ""}
  FROM desired AS d {join} state AS s ON s.key = d._cdp_key
  WHERE {where}
)
SELECT diff.*,
  ROW_NUMBER() OVER (ORDER BY IF(_cdp_op = 'remove', 0, 1), _cdp_key) AS _cdp_seq
FROM diff
"""
    return PlanQuery(
        dest.name,
        sql.strip(),
        [f for f, _ in payload],
        [f for f, _ in de_payload],
        key_fields,
    )
