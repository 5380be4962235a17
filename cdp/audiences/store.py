"""Membership snapshots and their history, shared by audiences and funnel drop-off audiences.

- `audience_members`: the current membership of every audience (what delivery reads; rows with
  `is_holdout` are the control group, recorded but never sent).
- `audience_changes`: one row per person who entered or exited, with when (the run's as_of) and why.
- `audience_runs`: one row per run (sizes and deltas; "change since last run" for previews).

A run first builds a scratch table (evaluated people who qualify now or were members before),
then swaps it in with one transaction of DML (BigQuery transactions allow DML, not DDL).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlglot import exp

from cdp.backends.base import Backend
from cdp.segments.durations import from_micros
from cdp.segments.sqlbits import col, lit, param

MEMBERS = "audience_members"
CHANGES = "audience_changes"
RUNS = "audience_runs"

DDL = [
    f"""CREATE TABLE IF NOT EXISTS {MEMBERS} (
      audience STRING, uid STRING, crm_record_id STRING, entered_at TIMESTAMP,
      qualifying_events INT64, last_event_at TIMESTAMP, run_id STRING, is_holdout BOOL, reason STRING
    ) CLUSTER BY audience""",
    f"""CREATE TABLE IF NOT EXISTS {CHANGES} (
      audience STRING, uid STRING, crm_record_id STRING, change STRING, changed_at TIMESTAMP,
      run_id STRING, is_holdout BOOL, reason STRING
    ) CLUSTER BY audience""",
    f"""CREATE TABLE IF NOT EXISTS {RUNS} (
      audience STRING, run_id STRING, as_of TIMESTAMP, ran_at TIMESTAMP, members INT64,
      holdout INT64, entered INT64, exited INT64, source STRING
    ) CLUSTER BY audience""",
]


@dataclass(frozen=True)
class AudienceResult:
    name: str
    run_id: str
    as_of: datetime
    members: int
    holdout: int
    entered: int
    exited: int

    @property
    def deliverable(self) -> int:
        return self.members - self.holdout

    def __str__(self) -> str:
        return (
            f"{self.name}: {self.members:,} members ({self.holdout:,} holdout, "
            f"{self.deliverable:,} deliverable), +{self.entered:,} / -{self.exited:,} "
            f"as of {self.as_of:%Y-%m-%d %H:%M}Z"
        )


def ensure_tables(backend: Backend) -> None:
    for statement in DDL:
        backend.execute(statement)


def scratch_name(audience: str) -> str:
    return f"audience__next_{audience}"


def scratch_select(evaluated: exp.Select) -> exp.Select:
    """Qualifying people plus everyone currently a member (so exits carry their reason)."""
    current = (
        exp.select("uid", "crm_record_id", "entered_at", "is_holdout")
        .from_(MEMBERS)
        .where(exp.EQ(this=col("audience"), expression=param("audience")))
    )
    stayed_or_new = (
        exp.select(
            col("uid", "e"),
            exp.alias_(
                exp.Coalesce(
                    this=col("crm_record_id", "e"), expressions=[col("crm_record_id", "c")]
                ),
                "crm_record_id",
            ),
            col("qualifies", "e"),
            col("qualifying_events", "e"),
            col("last_event_at", "e"),
            col("is_holdout", "e"),
            col("reason", "e"),
            exp.alias_(col("entered_at", "c"), "prev_entered_at"),
            exp.alias_(
                exp.Not(this=exp.Is(this=col("uid", "c"), expression=exp.Null())), "was_member"
            ),
        )
        .from_(exp.alias_(evaluated.subquery(), "e"))
        .join(
            exp.alias_(current.subquery(), "c"),
            on=exp.EQ(this=col("uid", "c"), expression=col("uid", "e")),
            join_type="LEFT",
        )
        .where(
            exp.or_(
                col("qualifies", "e"),
                exp.Not(this=exp.Is(this=col("uid", "c"), expression=exp.Null())),
            )
        )
    )
    left_population = (
        exp.select(
            col("uid", "c"),
            col("crm_record_id", "c"),
            exp.alias_(lit(False), "qualifies"),
            exp.alias_(lit(0), "qualifying_events"),
            exp.alias_(exp.cast(exp.Null(), "TIMESTAMP"), "last_event_at"),
            col("is_holdout", "c"),
            exp.alias_(lit("left the population"), "reason"),
            exp.alias_(col("entered_at", "c"), "prev_entered_at"),
            exp.alias_(lit(True), "was_member"),
        )
        .from_(exp.alias_(current.subquery(), "c"))
        .where(
            exp.Not(
                this=exp.Exists(
                    this=exp.select(lit(1))
                    .from_(exp.alias_(evaluated.subquery(), "e2"))
                    .where(exp.EQ(this=col("uid", "e2"), expression=col("uid", "c")))
                )
            )
        )
    )
    return exp.union(stayed_or_new, left_population, distinct=False)  # type: ignore[return-value]


def write_membership(
    backend: Backend,
    audience: str,
    evaluated: exp.Select,
    *,
    as_of_us: int,
    run_id: str,
    source: str,
) -> AudienceResult:
    """Evaluate, diff against the current membership, record changes, swap the snapshot in."""
    ensure_tables(backend)
    params = {"audience": audience, "as_of_us": as_of_us, "run_id": run_id, "source": source}
    scratch = scratch_name(audience)
    backend.execute(
        exp.Create(
            this=exp.to_table(scratch),
            kind="TABLE",
            replace=True,
            expression=scratch_select(evaluated),
        ),
        params,
    )
    as_of_ts = "TIMESTAMP_MICROS(@as_of_us)"
    statements = [
        f"""INSERT INTO {CHANGES} (audience, uid, crm_record_id, change, changed_at, run_id, is_holdout, reason)
            SELECT @audience, uid, crm_record_id, 'entered', {as_of_ts}, @run_id, is_holdout, reason
            FROM {scratch} WHERE qualifies AND NOT was_member""",
        f"""INSERT INTO {CHANGES} (audience, uid, crm_record_id, change, changed_at, run_id, is_holdout, reason)
            SELECT @audience, uid, crm_record_id, 'exited', {as_of_ts}, @run_id, is_holdout,
                   CONCAT('no longer matches: ', IFNULL(reason, ''))
            FROM {scratch} WHERE was_member AND NOT qualifies""",
        f"DELETE FROM {MEMBERS} WHERE audience = @audience",
        f"""INSERT INTO {MEMBERS} (audience, uid, crm_record_id, entered_at, qualifying_events, last_event_at,
                                  run_id, is_holdout, reason)
            SELECT @audience, uid, crm_record_id, IFNULL(prev_entered_at, {as_of_ts}), qualifying_events,
                   last_event_at, @run_id, is_holdout, reason
            FROM {scratch} WHERE qualifies""",
        f"""INSERT INTO {RUNS} (audience, run_id, as_of, ran_at, members, holdout, entered, exited, source)
            SELECT @audience, @run_id, {as_of_ts}, CURRENT_TIMESTAMP(), COUNTIF(qualifies),
                   COUNTIF(qualifies AND is_holdout), COUNTIF(qualifies AND NOT was_member),
                   COUNTIF(was_member AND NOT qualifies), @source
            FROM {scratch}""",
    ]
    backend.atomic(statements, params)
    backend.execute(f"DROP TABLE IF EXISTS {scratch}")
    row = backend.query(
        f"SELECT members, holdout, entered, exited FROM {RUNS} WHERE audience = @audience AND run_id = @run_id",
        params,
    ).to_pylist()[0]
    return AudienceResult(
        name=audience,
        run_id=run_id,
        as_of=from_micros(as_of_us),
        members=int(row["members"] or 0),
        holdout=int(row["holdout"] or 0),
        entered=int(row["entered"] or 0),
        exited=int(row["exited"] or 0),
    )
