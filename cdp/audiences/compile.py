"""Audience specs compiled to one GoogleSQL tree (rendered per backend by `backend.render`).

Shape: one scan of `stitched_events` grouped by person computes every leaf's figure at once
(`COUNTIF` per `events` leaf, latest µs per `last_event` leaf, latest value per
`user_property` leaf); the population (`profiles`) is left-joined to it, so people with no
events at all count zero (and `not` behaves); the condition tree is then a boolean over those
columns. Each leaf is COALESCEd to FALSE, so a missing value makes a leaf false, never NULL.

Parameter: `@as_of_us` (INT64 µs). Everything else is a sqlglot literal built from the spec.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp

from cdp.audiences.spec import AudienceSpec, Condition, EventCount, Recency
from cdp.segments.durations import MICROS_PER_SECOND, minus
from cdp.segments.filters import EventFilter, ParamFilter
from cdp.segments.population import EVENTS, people_select
from cdp.segments.sqlbits import (
    as_string,
    coalesce,
    col,
    concat,
    countif,
    lit,
    max_if,
    md5_hex,
    not_consent_denied,
    param,
    ts_micros,
)

AS_OF = "as_of_us"
#: Hex digits of MD5(uid|audience) compared with the holdout threshold (1/65536 granularity).
HOLDOUT_DIGITS = 4
#: GA4's event_date is the property's local date; allow a day either side of the UTC bound.
_DATE_SLACK_US = 86_400 * MICROS_PER_SECOND


@dataclass
class _Leaves:
    """Leaf -> aggregate column name, assigned in tree order."""

    columns: dict[int, str] = field(default_factory=dict)
    aggregates: list[exp.Expr] = field(default_factory=list)
    reasons: list[exp.Expr] = field(default_factory=list)
    event_conditions: list[exp.Expr] = field(default_factory=list)
    unbounded: bool = False


def holdout_threshold(percent: float) -> str:
    """Hex prefix below which a person is in the control group (lowercase, fixed width)."""
    return format(round(percent / 100 * 16**HOLDOUT_DIGITS), f"0{HOLDOUT_DIGITS}x")


def holdout_expr(uid: exp.Expr, audience: str, percent: float) -> exp.Expr:
    if percent <= 0:
        return lit(False)
    digest = md5_hex(concat(uid, lit("|"), lit(audience)))
    prefix = exp.Substring(this=digest, start=lit(1), length=lit(HOLDOUT_DIGITS))
    return exp.LT(this=prefix, expression=lit(holdout_threshold(percent)))


def leaf_label(node: Condition, index: int) -> str:
    leaf = node.events or node.last_event or node.crm or node.user_property
    custom = getattr(leaf, "label", None)
    if custom:
        return str(custom)
    if isinstance(leaf, EventFilter):
        return f"{node.kind}#{index}:{'|'.join(leaf.event)}"
    assert isinstance(leaf, ParamFilter)
    return f"{node.kind}#{index}:{leaf.param}"


def _event_condition(flt: EventFilter) -> exp.Expr:
    return exp.paren(flt.condition(), copy=False)


def _collect(spec: AudienceSpec) -> tuple[_Leaves, dict[int, Condition]]:
    leaves = _Leaves()
    nodes: dict[int, Condition] = {}
    as_of = param(AS_OF)
    ts = col("event_timestamp")
    for index, (_, node) in enumerate(spec.condition.walk()):
        nodes[index] = node
        if node.kind in ("all", "any", "not"):
            continue
        name = f"leaf{index}"
        label = lit(leaf_label(node, index) + "=")
        if node.events is not None:
            leaf: EventCount = node.events
            condition = _event_condition(leaf)
            if leaf.window is not None:
                condition = exp.and_(condition, leaf.window.condition(ts, as_of))
            else:
                leaves.unbounded = True
            leaves.aggregates.append(exp.alias_(countif(condition), name))
            leaves.event_conditions.append(condition)
            value = as_string(coalesce(col(name, "e"), lit(0)))
        elif node.last_event is not None:
            recency: Recency = node.last_event
            condition = _event_condition(recency)
            leaves.unbounded = True
            leaves.aggregates.append(exp.alias_(max_if(condition, ts.copy()), name))
            leaves.event_conditions.append(condition)
            value = coalesce(as_string(ts_micros(col(name, "e"))), lit("never"))
        elif node.user_property is not None:
            column = col(node.user_property.param)
            # Latest non-null value: rows with a NULL value get a NULL ordering key.
            key = exp.If(
                this=exp.Is(this=column.copy(), expression=exp.Null()),
                true=exp.Null(),
                false=ts.copy(),
            )
            leaves.aggregates.append(exp.alias_(exp.ArgMax(this=column, expression=key), name))
            value = coalesce(as_string(col(name, "e")), lit("null"))
        else:
            assert node.crm is not None
            value = coalesce(as_string(col(node.crm.param, "p")), lit("null"))
        leaves.columns[index] = name
        if leaves.reasons:
            leaves.reasons.append(lit("; "))
        leaves.reasons += [label, value]
    return leaves, nodes


def _tree(node: Condition, leaves: _Leaves, index_of: dict[int, int]) -> exp.Expr:
    """The boolean for `node`; `index_of` maps id(node) -> walk index."""
    index = index_of[id(node)]
    name = leaves.columns.get(index)
    as_of = param(AS_OF)
    if node.all_ is not None:
        return exp.paren(exp.and_(*(_tree(c, leaves, index_of) for c in node.all_)), copy=False)
    if node.any_ is not None:
        return exp.paren(exp.or_(*(_tree(c, leaves, index_of) for c in node.any_)), copy=False)
    if node.not_ is not None:
        return exp.Not(this=_tree(node.not_, leaves, index_of))
    assert name is not None
    value = col(name, "e")
    condition: exp.Expr
    if node.events is not None:
        low, high = node.events.count.bounds()
        count = coalesce(value, lit(0))
        condition = (
            exp.GTE(this=count, expression=lit(low))
            if high is None
            else exp.Between(this=count, low=lit(low), high=lit(high))
        )
    elif node.last_event is not None:
        parts: list[exp.Expr] = [exp.Not(this=exp.Is(this=value, expression=exp.Null()))]
        if node.last_event.within is not None:
            parts.append(
                exp.GTE(this=value.copy(), expression=minus(as_of, node.last_event.within.micros))
            )
        if node.last_event.older_than is not None:
            parts.append(
                exp.LT(
                    this=value.copy(), expression=minus(as_of, node.last_event.older_than.micros)
                )
            )
        condition = exp.and_(*parts)
    elif node.user_property is not None:
        condition = node.user_property.condition(value)
    else:
        assert node.crm is not None
        condition = node.crm.condition(col(node.crm.param, "p"))
    return coalesce(exp.paren(condition, copy=False), lit(False))


def _scan_floor(spec: AudienceSpec) -> exp.Expr | None:
    """Lowest event_timestamp any leaf can look at, if every leaf is windowed (prunes the scan)."""
    floors: list[exp.Expr] = []
    for _, node in spec.condition.walk():
        if node.last_event is not None or node.user_property is not None:
            return None
        if node.events is not None:
            window = node.events.window
            if window is None:
                return None
            if window.last is not None:
                floors.append(minus(param(AS_OF), window.last.micros))
            else:
                assert window.between is not None
                floors.append(lit(window.between.micros()[0]))
    if not floors:
        return None
    return floors[0] if len(floors) == 1 else exp.Least(this=floors[0], expressions=floors[1:])


def events_select(spec: AudienceSpec) -> tuple[exp.Select, _Leaves, dict[int, Condition]]:
    """Per-person leaf figures from one scan of stitched_events, up to @as_of_us."""
    leaves, nodes = _collect(spec)
    ts = col("event_timestamp")
    any_event = exp.or_(*leaves.event_conditions) if leaves.event_conditions else lit(False)
    select = exp.select(
        exp.alias_(col("stitched_uid"), "uid"),
        *leaves.aggregates,
        exp.alias_(countif(any_event), "qualifying_events"),
        exp.alias_(
            exp.Max(this=exp.If(this=any_event.copy(), true=ts.copy(), false=exp.Null())),
            "last_event_us",
        ),
    ).from_(EVENTS)
    where: list[exp.Expr] = [
        exp.Not(this=exp.Is(this=col("stitched_uid"), expression=exp.Null())),
        exp.LTE(this=ts.copy(), expression=param(AS_OF)),
    ]
    if not spec.population.include_consent_denied:
        where.append(not_consent_denied())
    floor = _scan_floor(spec)
    if floor is not None:
        where.append(exp.GTE(this=ts.copy(), expression=floor))
        # Lets BigQuery prune event_date partitions (the µs filter alone cannot).
        date_floor = exp.Date(this=ts_micros(minus(floor, _DATE_SLACK_US)))
        where.append(exp.GTE(this=col("event_date"), expression=date_floor))
    return select.where(exp.and_(*where)).group_by(col("stitched_uid")), leaves, nodes


def evaluate_select(spec: AudienceSpec) -> exp.Select:
    """Every person of the population with `qualifies` and the figures behind it.

    Columns: uid, crm_record_id, qualifies, qualifying_events, last_event_at, is_holdout, reason.
    """
    events, leaves, nodes = events_select(spec)
    index_of = {id(node): index for index, node in nodes.items()}
    crm_columns = [n.crm.param for n in nodes.values() if n.crm is not None]
    people = people_select(spec.population, crm_columns)
    reason = concat(*leaves.reasons) if leaves.reasons else lit("")
    select = (
        exp.select(
            col("uid", "p"),
            col("crm_record_id", "p"),
            exp.alias_(_tree(spec.condition, leaves, index_of), "qualifies"),
            exp.alias_(coalesce(col("qualifying_events", "e"), lit(0)), "qualifying_events"),
            exp.alias_(ts_micros(col("last_event_us", "e")), "last_event_at"),
            exp.alias_(
                holdout_expr(col("uid", "p"), spec.name, spec.holdout_percent), "is_holdout"
            ),
            exp.alias_(reason, "reason"),
        )
        .from_(exp.alias_(people.subquery(), "p"))
        .join(
            exp.alias_(events.subquery(), "e"),
            on=exp.EQ(this=col("uid", "e"), expression=col("uid", "p")),
            join_type="LEFT",
        )
    )
    return select


def members_select(spec: AudienceSpec) -> exp.Select:
    """Only the people who qualify (what a run stores and a preview samples)."""
    inner = evaluate_select(spec)
    return (
        exp.select(exp.Star())
        .from_(exp.alias_(inner.subquery(), "evaluated"))
        .where(col("qualifies"))
    )
