"""Durations and time windows of specs, evaluated relative to an explicit `as_of`.

Every comparison in compiled SQL is on `event_timestamp` (INT64 microseconds since the epoch,
the GA4 export's own clock) against the `@as_of_us` parameter: integer arithmetic is identical
on BigQuery and DuckDB, needs no time-zone handling, and keeps results reproducible.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import Field, ValidationInfo, model_validator
from sqlglot import exp

from cdp.specs import StrictModel, TimeZoneName, with_project_zone, zone

MICROS_PER_SECOND = 1_000_000
_SHORT = re.compile(r"^\s*(\d+)\s*(d|h|m|days?|hours?|minutes?|min)\s*$", re.IGNORECASE)
_MAX_DAYS = 36_500
_UNIT = {"d": "days", "h": "hours", "m": "minutes", "min": "minutes"}


class Duration(StrictModel):
    """`{days: 14}`, `{hours: 6, minutes: 30}` or the shorthand `"14d"`, `"6h"`, `"30m"`."""

    # Each part capped at the whole's cap (_MAX_DAYS), so no arithmetic on them can overflow.
    days: int = Field(default=0, ge=0, le=36_500)
    hours: int = Field(default=0, ge=0, le=36_500 * 24)
    minutes: int = Field(default=0, ge=0, le=36_500 * 24 * 60)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            match = _SHORT.match(value)
            if not match:
                raise ValueError(
                    f"expected a positive duration like 30m, 6h or 14d (got {value!r})"
                )
            unit = match.group(2).lower()
            key = _UNIT.get(unit) or (unit if unit.endswith("s") else unit + "s")
            return {key: int(match.group(1))}
        return value

    @model_validator(mode="after")
    def _positive(self) -> Duration:
        if self.micros <= 0:
            raise ValueError("must be longer than zero")
        if self.timedelta > timedelta(days=_MAX_DAYS):
            raise ValueError(f"must be at most {_MAX_DAYS} days (100 years)")
        return self

    @property
    def timedelta(self) -> timedelta:
        return timedelta(days=self.days, hours=self.hours, minutes=self.minutes)

    @property
    def micros(self) -> int:
        return int(self.timedelta.total_seconds()) * MICROS_PER_SECOND

    def __str__(self) -> str:
        parts = [
            f"{v}{u}" for v, u in ((self.days, "d"), (self.hours, "h"), (self.minutes, "m")) if v
        ]
        return "".join(parts)


class DateRange(StrictModel):
    """Calendar dates, both inclusive, in `time_zone` (default: the project's, else UTC)."""

    start: date
    end: date
    time_zone: TimeZoneName = "UTC"

    @model_validator(mode="before")
    @classmethod
    def _project_zone(cls, value: Any, info: ValidationInfo) -> Any:
        return with_project_zone(value, info)

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")
        return self

    def micros(self) -> tuple[int, int]:
        """[first µs, last µs] of the range."""
        tz = zone(self.time_zone)
        lo = datetime.combine(self.start, time(), tz)
        hi = datetime.combine(self.end + timedelta(days=1), time(), tz)
        return to_micros(lo), to_micros(hi) - 1


class Window(StrictModel):
    """`{last: 14d}` (relative to as_of) or `{between: {start: ..., end: ...}}`."""

    last: Duration | None = None
    between: DateRange | None = None

    @model_validator(mode="after")
    def _one(self) -> Window:
        if (self.last is None) == (self.between is None):
            raise ValueError("give exactly one of: last, between")
        return self

    def bounds(self, as_of_us: int) -> tuple[int, int]:
        """Python bounds (inclusive) for reference evaluators."""
        if self.last is not None:
            return as_of_us - self.last.micros, as_of_us
        assert self.between is not None
        lo, hi = self.between.micros()
        return lo, min(hi, as_of_us)

    def condition(self, ts: exp.Expr, as_of: exp.Expr) -> exp.Expr:
        """`ts` within the window, as SQL; `ts <= as_of` is applied by the caller's scan."""
        if self.last is not None:
            return exp.GTE(this=ts, expression=minus(as_of, self.last.micros))
        assert self.between is not None
        lo, hi = self.between.micros()
        return exp.Between(this=ts, low=exp.Literal.number(lo), high=exp.Literal.number(hi))


def minus(value: exp.Expr, micros: int) -> exp.Expr:
    return exp.Sub(this=value.copy(), expression=exp.Literal.number(micros))


def plus(value: exp.Expr, micros: int) -> exp.Expr:
    return exp.Add(this=value.copy(), expression=exp.Literal.number(micros))


def to_micros(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError(f"{moment} has no time zone (pass an aware datetime, e.g. in UTC)")
    delta = moment - datetime(1970, 1, 1, tzinfo=ZoneInfo("UTC"))
    return (delta.days * 86_400 + delta.seconds) * MICROS_PER_SECOND + delta.microseconds


def from_micros(micros: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=ZoneInfo("UTC")) + timedelta(microseconds=micros)
