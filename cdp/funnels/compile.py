"""Funnels compiled to GoogleSQL: one row per entry, then per-step aggregates and drop-offs.

Entry: a person's first step-1 event of a day (`event_date`), within `period` before as_of.
Each step is one event (row, identified by `event_key` with `event_timestamp`), and a different
row from every earlier step's of that entry: step k is reached at the earliest step-k row, by
(timestamp, event_key), at or after step k-1's time (ties allowed: GA4 gives session_start and
page_view one timestamp) other than the rows of steps 1..k-1, within `window` of the entry and
before the person's next entry. So one page view cannot be both "viewed a model page" and "viewed
the EV9 page". Earliest-first matching is optimal for an ordered sequence, so "reached" is exact
across timestamps; among rows of one timestamp the lowest event_key is taken, which can miss a
match only when rows of one microsecond fit overlapping steps (the lower-keyed of two tied page
views fitting both of two steps, the other only the first).
The next entry closes the window so that a step is credited to one entry only: the latest before
it, not every earlier day's.
A person is `stitched_uid`, or the CID for events not attributed to anyone; a row with neither
(consent denied, no UID) belongs to no journey.
Parameter: `@as_of_us`.
"""

from __future__ import annotations

from sqlglot import exp

from cdp.audiences.compile import holdout_expr
from cdp.funnels.spec import FunnelSpec
from cdp.segments.durations import MICROS_PER_SECOND, minus
from cdp.segments.population import EVENTS, people_select
from cdp.segments.sqlbits import (
    as_string,
    coalesce,
    col,
    concat,
    lit,
    not_consent_denied,
    param,
    ts_micros,
)

AS_OF = "as_of_us"
_DAY_US = 86_400 * MICROS_PER_SECOND


def t(k: int) -> str:
    return f"t{k}"


def key(k: int) -> str:
    """The `event_key` of step k's row (with t_k, it identifies the row)."""
    return f"key{k}"


def _first_per_entry(partition: list[exp.Expr], ts: exp.Expr, event_key: exp.Expr) -> exp.Window:
    """Ranks rows by (timestamp, event_key) within an entry: 1 is the step's row."""
    return exp.Window(
        this=exp.RowNumber(),
        partition_by=partition,
        order=exp.Order(expressions=[exp.Ordered(this=ts), exp.Ordered(this=event_key)]),
    )


def entries_select(spec: FunnelSpec) -> exp.Select:
    """Columns: person, uid, day, <breakdown>, t1..tn (µs or NULL), reached (steps reached)."""
    n = len(spec.steps)
    ts = col("event_timestamp")
    floor = minus(param(AS_OF), spec.period.micros)
    flags = [
        exp.alias_(exp.paren(step.condition(), copy=False), f"s{k}")
        for k, step in enumerate(spec.steps, 1)
    ]
    where: list[exp.Expr] = [
        exp.GTE(this=ts.copy(), expression=floor),
        exp.LTE(this=ts.copy(), expression=param(AS_OF)),
        exp.GTE(this=col("event_date"), expression=exp.Date(this=ts_micros(minus(floor, _DAY_US)))),
        exp.paren(exp.or_(*(step.condition() for step in spec.steps)), copy=False),
    ]
    if not spec.include_consent_denied:
        where.append(not_consent_denied())
    # A row with neither a UID nor a CID (consent denied, anonymous) is nobody's: no journey.
    where.append(
        exp.Not(this=exp.Is(this=coalesce(col("stitched_uid"), col("cid")), expression=exp.Null()))
    )
    events = (
        exp.select(
            exp.alias_(coalesce(col("stitched_uid"), concat(lit("cid:"), col("cid"))), "person"),
            exp.alias_(col("stitched_uid"), "uid"),
            exp.alias_(ts.copy(), "ts"),
            col("event_key"),
            exp.alias_(col("event_date"), "day"),
            *(col(b) for b in spec.breakdown),
            *flags,
        )
        .from_(EVENTS)
        .where(exp.and_(*where))
    )

    # Step 1: the entry, with the breakdown values of its first event; its row is the lowest
    # event_key among the step-1 rows at its time.
    day_first = exp.Window(this=exp.Min(this=col("ts")), partition_by=[col("person"), col("day")])
    s1_rows = exp.select(exp.Star(), exp.alias_(day_first, "first_ts")).from_("ev").where(col("s1"))
    at_first = exp.EQ(this=col("ts"), expression=col("first_ts"))
    first = (
        exp.select(
            col("person"),
            exp.alias_(exp.Max(this=col("uid")), "uid"),
            col("day"),
            *(exp.alias_(exp.ArgMin(this=col(b), expression=col("ts")), b) for b in spec.breakdown),
            exp.alias_(exp.Min(this=col("ts")), t(1)),
            exp.alias_(
                exp.Min(this=exp.If(this=at_first, true=col("event_key"), false=exp.Null())),
                key(1),
            ),
        )
        .from_(exp.alias_(s1_rows.subquery(), "s"))
        .group_by("person", "day")
    )
    next_entry = exp.Window(
        this=exp.Lead(this=col(t(1))),
        partition_by=[col("person")],
        order=exp.Order(expressions=[exp.Ordered(this=col(t(1)))]),
    )
    entry = exp.select(exp.Star(), exp.alias_(next_entry, "next_t1")).from_("entry_days")
    ctes: list[tuple[str, exp.Select]] = [("ev", events), ("entry_days", first), ("step1", entry)]
    carried = ["person", "uid", "day", *spec.breakdown]
    for k in range(2, n + 1):
        keep = [*carried, "next_t1", *(c for j in range(1, k) for c in (t(j), key(j)))]
        within = exp.Add(this=col(t(1), "f"), expression=lit(spec.window.micros))
        before_next = exp.or_(
            exp.Is(this=col("next_t1", "f"), expression=exp.Null()),
            exp.LT(this=col("ts", "e"), expression=col("next_t1", "f")),
        )
        # Not the row of an earlier step (same timestamp and event_key).
        not_earlier = [
            exp.Not(this=exp.paren(exp.and_(
                exp.EQ(this=col("ts", "e"), expression=col(t(j), "f")),
                exp.EQ(this=col("event_key", "e"), expression=col(key(j), "f")),
            ), copy=False))
            for j in range(1, k)
        ]  # fmt: skip
        rank = _first_per_entry(
            [col("person", "f"), col("day", "f")], col("ts", "e"), col("event_key", "e")
        )
        found = [t(k), key(k)] if k < n else [t(k)]
        candidates = (
            exp.select(
                *(col(c, "f") for c in keep),
                exp.alias_(col("ts", "e"), t(k)),
                *([exp.alias_(col("event_key", "e"), key(k))] if k < n else []),
                exp.alias_(rank, "rn"),
            )
            .from_(exp.alias_(exp.to_table(f"step{k - 1}"), "f"))
            .join(
                exp.alias_(exp.to_table("ev"), "e"),
                on=exp.and_(
                    exp.EQ(this=col("person", "e"), expression=col("person", "f")),
                    col(f"s{k}", "e"),
                    exp.GTE(this=col("ts", "e"), expression=col(t(k - 1), "f")),
                    exp.LTE(this=col("ts", "e"), expression=within),
                    exp.paren(before_next, copy=False),
                    *not_earlier,
                ),
                join_type="LEFT",
            )
        )
        step = (
            exp.select(*(col(c) for c in [*keep, *found]))
            .from_(exp.alias_(candidates.subquery(), "c"))
            .where(exp.EQ(this=col("rn"), expression=lit(1)))
        )
        ctes.append((f"step{k}", step))
    # The chain keeps t_k NULL once t_(k-1) is, so "reached" counts the leading non-NULL steps.
    reached = _sum(
        [lit(1)]
        + [exp.If(this=exp.Not(this=exp.Is(this=col(t(k)), expression=exp.Null())), true=lit(1), false=lit(0))
           for k in range(2, n + 1)]
    )  # fmt: skip
    final = exp.select(
        *(col(c) for c in carried),
        *(col(t(k)) for k in range(1, n + 1)),
        exp.alias_(reached, "reached"),
    ).from_(f"step{n}")
    for name, cte in ctes:
        final = final.with_(name, as_=cte)
    return final


def _sum(items: list[exp.Expr]) -> exp.Expr:
    total = items[0]
    for item in items[1:]:
        total = exp.Add(this=total, expression=item)
    return total


def stats_select(spec: FunnelSpec, entries_table: str, by: list[str]) -> exp.Select:
    """Per (`by`..., step): reached, converted to next, dropped, median seconds to next."""
    n = len(spec.steps)
    rows: exp.Query | None = None
    for k in range(1, n + 1):
        nxt = col(t(k + 1)) if k < n else exp.Null()
        part = exp.select(
            *(col(b) for b in by),
            exp.alias_(lit(k), "step"),
            exp.alias_(exp.Not(this=exp.Is(this=col(t(k)), expression=exp.Null())), "reached"),
            exp.alias_(exp.Not(this=exp.Is(this=nxt.copy(), expression=exp.Null())), "converted"),
            exp.alias_(
                exp.Sub(this=nxt.copy(), expression=col(t(k)))
                if k < n
                else exp.cast(exp.Null(), "INT64"),
                "gap_us",
            ),
        ).from_(entries_table)
        rows = part if rows is None else exp.union(rows, part, distinct=False)
    assert rows is not None
    partition = [col(b) for b in by] + [col("step")]
    median = exp.Window(
        this=exp.PercentileCont(this=col("gap_us"), expression=lit(0.5)),
        partition_by=partition,
    )
    with_median = exp.select(exp.Star(), exp.alias_(median, "median_gap_us")).from_(
        exp.alias_(rows.subquery(), "g")
    )
    return (
        exp.select(
            *(col(b) for b in by),
            col("step"),
            exp.alias_(exp.CountIf(this=col("reached")), "reached"),
            exp.alias_(exp.CountIf(this=col("converted")), "converted"),
            exp.alias_(
                exp.Div(this=exp.Max(this=col("median_gap_us")), expression=lit(MICROS_PER_SECOND)),
                "median_seconds_to_next",
            ),
        )
        .from_(exp.alias_(with_median.subquery(), "m"))
        .group_by(*(col(b) for b in by), col("step"))
    )


def dropoff_select(spec: FunnelSpec, entries_table: str, step: int) -> exp.Select:
    """An audience evaluation (same columns as an audience's) for people who stopped at `step`."""
    assert spec.dropoff is not None
    dropoff = spec.dropoff
    n = len(spec.steps)
    last = exp.Greatest(
        this=col(t(1)), expressions=[coalesce(col(t(k)), col(t(1))) for k in range(2, n + 1)]
    )
    per_person = (
        exp.select(
            col("uid"),
            exp.alias_(exp.Max(this=col("reached")), "furthest"),
            exp.alias_(exp.Max(this=last), "last_us"),
            exp.alias_(exp.Count(this=exp.Star()), "entries"),
        )
        .from_(entries_table)
        .where(
            exp.and_(
                exp.Not(this=exp.Is(this=col("uid"), expression=exp.Null())),
                exp.GTE(this=col(t(1)), expression=minus(param(AS_OF), dropoff.lookback.micros)),
            )
        )
        .group_by("uid")
    )
    qualifies = exp.and_(
        exp.EQ(this=col("furthest", "f"), expression=lit(step)),
        exp.LTE(this=col("last_us", "f"), expression=minus(param(AS_OF), dropoff.after.micros)),
    )
    name = spec.dropoff_audience(spec.steps[step - 1].name)
    return (
        exp.select(
            col("uid", "p"),
            col("crm_record_id", "p"),
            exp.alias_(coalesce(exp.paren(qualifies, copy=False), lit(False)), "qualifies"),
            exp.alias_(coalesce(col("entries", "f"), lit(0)), "qualifying_events"),
            exp.alias_(ts_micros(col("last_us", "f")), "last_event_at"),
            exp.alias_(holdout_expr(col("uid", "p"), name, dropoff.holdout_percent), "is_holdout"),
            exp.alias_(
                concat(lit(f"furthest step of {spec.name}="), coalesce(as_string(col("furthest", "f")), lit("0")),
                       lit(f" (dropped after {spec.steps[step - 1].name})")),
                "reason",
            ),
        )
        .from_(exp.alias_(people_select(dropoff.population).subquery(), "p"))
        .join(exp.alias_(per_person.subquery(), "f"), on=exp.EQ(this=col("uid", "f"), expression=col("uid", "p")), join_type="LEFT")
    )  # fmt: skip
