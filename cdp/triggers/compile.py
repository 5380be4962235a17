"""A trigger compiled to the GoogleSQL query of its *decidable, undecided, abandoned* starts.

A start is decidable once the data is complete through start + wait: `start <= @watermark_us - wait`,
where the watermark is the latest event time minus a safety lag (so a completion that lands a
little late can never produce a false "abandoned"). It is abandoned when no completion event by the
same person (scope: window) or in the same session (scope: session) falls in [start, start + wait].
Starts already in `trigger_decisions` (any status) are never re-decided.

Parameters: `@watermark_us`, `@since_us` (INT64 µs). Detection reads provisional (intraday) rows too.
"""

from __future__ import annotations

from sqlglot import exp

from cdp.segments.durations import MICROS_PER_SECOND, minus, plus
from cdp.segments.population import EVENTS, people_select
from cdp.segments.sqlbits import col, lit, not_consent_denied, param, qualify, ts_micros
from cdp.triggers.spec import TriggerSpec

FIRINGS = "trigger_firings"
DECISIONS = "trigger_decisions"
_DAY_US = 86_400 * MICROS_PER_SECOND


def _date_floor(table: str) -> exp.Expr:
    """Partition pruning on event_date (property-local), a day wider than the µs bound."""
    return exp.GTE(
        this=col("event_date", table),
        expression=exp.Date(this=ts_micros(minus(param("since_us"), _DAY_US))),
    )


def candidates_select(spec: TriggerSpec) -> exp.Select:
    """Columns: trigger, uid, crm_record_id, start_event_key, start_event_timestamp, session_key,
    cid, completed, <context>: every decidable start not decided yet."""
    start_ts = col("event_timestamp", "s")
    completion = exp.or_(*(exp.paren(c.condition(), copy=False) for c in spec.completion))
    same_uid = exp.EQ(this=col("stitched_uid", "c"), expression=col("stitched_uid", "s"))
    same_person: exp.Expr = same_uid
    if spec.scope == "session":
        # A start without a session (no ga_session_id: Measurement Protocol, server-side or
        # cookieless events) is judged by the window rule: before, it could never be completed.
        no_session = exp.Is(this=col("session_key", "s"), expression=exp.Null())
        same_session = exp.EQ(this=col("session_key", "c"), expression=col("session_key", "s"))
        same_person = exp.or_(exp.paren(exp.and_(no_session, same_uid)), same_session)
    completed = exp.Exists(
        this=exp.select(lit(1))
        .from_(exp.alias_(exp.to_table(EVENTS), "c"))
        .where(
            exp.and_(
                same_person,
                exp.GTE(this=col("event_timestamp", "c"), expression=start_ts.copy()),
                exp.LTE(
                    this=col("event_timestamp", "c"), expression=plus(start_ts, spec.wait.micros)
                ),
                exp.NEQ(this=col("event_key", "c"), expression=col("event_key", "s")),
                _date_floor("c"),
                qualify(exp.paren(completion, copy=False), "c"),
            )
        )
    )
    # Decisions key on the event as text: `event_key` is an INT64 fingerprint from staging.
    # Not on uid: identity may re-attribute an already decided start to another person later.
    start_key = exp.cast(col("event_key", "s"), exp.DataType.build("STRING"))
    decided = exp.Exists(
        this=exp.select(lit(1))
        .from_(exp.alias_(exp.to_table(DECISIONS), "f"))
        .where(
            exp.and_(
                exp.EQ(this=col("trigger", "f"), expression=lit(spec.name)),
                exp.EQ(this=col("start_event_key", "f"), expression=start_key.copy()),
            )
        )
    )
    where: list[exp.Expr] = [
        qualify(exp.paren(spec.start.condition(), copy=False), "s"),
        exp.Not(this=exp.Is(this=col("stitched_uid", "s"), expression=exp.Null())),
        exp.GTE(this=start_ts.copy(), expression=param("since_us")),
        exp.LTE(this=start_ts.copy(), expression=minus(param("watermark_us"), spec.wait.micros)),
        _date_floor("s"),
        exp.Not(this=decided),
    ]
    if not spec.population.include_consent_denied:
        where.append(not_consent_denied("s"))
    context = [col(c, "s") for c in dict.fromkeys(spec.context)]
    return (
        exp.select(
            exp.alias_(lit(spec.name), "trigger"),
            exp.alias_(col("stitched_uid", "s"), "uid"),
            col("crm_record_id", "p"),
            exp.alias_(start_key, "start_event_key"),
            exp.alias_(start_ts.copy(), "start_event_timestamp"),
            col("session_key", "s"),
            col("cid", "s"),
            # Completed starts are decided too (`completed`), so that a later identity change
            # cannot turn one into an abandonment.
            exp.alias_(completed, "completed"),
            *context,
        )
        .from_(exp.alias_(exp.to_table(EVENTS), "s"))
        .join(
            exp.alias_(people_select(spec.population).subquery(), "p"),
            on=exp.EQ(this=col("uid", "p"), expression=col("stitched_uid", "s")),
        )
        .where(exp.and_(*where))
    )
