"""Funnel specs: ordered steps within a conversion window, reported per day and breakdown.

```yaml
kind: funnel
name: cej_test_drive
window: 7d                      # every step within 7 days of the entry (step 1)
period: 28d                     # entries in the 28 days up to as_of
breakdown: [device_category]
steps:
  - {name: visit, event: session_start}
  - {name: model_page, event: page_view, where: [{param: page_path, prefix: /models/}]}
  ...
dropoff: {after: 1h, lookback: 14d}   # materialise one audience per dropped step
```
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from cdp.audiences.spec import check_name
from cdp.segments.durations import Duration
from cdp.segments.filters import EventFilter
from cdp.segments.population import Population
from cdp.specs import StrictModel

# Columns of the entries and stats tables (`compile`), besides s1.., t1..: not breakdowns.
_OWN_COLUMNS = frozenset({
    "person", "uid", "day", "ts", "next_t1", "reached", "step", "converted", "gap_us",
    "median_gap_us", "median_seconds_to_next", "funnel", "as_of", "step_name", "dropped",
})  # fmt: skip


class FunnelStep(EventFilter):
    name: str

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name(value)


class Dropoff(StrictModel):
    """Identified people whose furthest step (over entries in `lookback`) is step k < last,
    with no funnel progress for `after`, become members of `<funnel>__dropped_<step>`."""

    after: Duration = Field(default_factory=lambda: Duration(hours=1))
    lookback: Duration = Field(default_factory=lambda: Duration(days=14))
    steps: list[str] | None = Field(default=None, min_length=1)  # None: every step but the last
    population: Population = Field(default_factory=Population)
    holdout_percent: float = Field(default=0, ge=0, le=50)

    @field_validator("population")
    @classmethod
    def _no_consent_flag(cls, value: Population) -> Population:
        # Drop-offs come from the funnel's entries, already filtered by the funnel's own flag.
        if "include_consent_denied" in value.model_fields_set:
            raise ValueError(
                "include_consent_denied has no effect on a drop-off population; "
                "set the funnel's own include_consent_denied instead"
            )
        return value


class FunnelSpec(StrictModel):
    kind: Literal["funnel"] = "funnel"
    name: str
    description: str = ""
    steps: list[FunnelStep] = Field(min_length=2)
    window: Duration
    period: Duration = Field(default_factory=lambda: Duration(days=28))
    breakdown: list[str] = Field(default_factory=lambda: ["device_category"])
    include_consent_denied: bool = False
    dropoff: Dropoff | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name(value)

    @field_validator("breakdown")
    @classmethod
    def _breakdown(cls, value: list[str]) -> list[str]:
        # The entries and stats tables have columns of their own; a breakdown named like one
        # would be shadowed by it (`day` reported event_date) or break the report (`step`).
        for name in value:
            if name.lower() in _OWN_COLUMNS or re.fullmatch(r"[st]\d+", name.lower()):
                raise ValueError(
                    f"breakdown column {name!r} clashes with a funnel report column; "
                    "stage the param under another column name"
                )
        if len({v.lower() for v in value}) != len(value):
            raise ValueError(f"breakdown columns must be distinct (got {value})")
        return value

    @model_validator(mode="after")
    def _steps(self) -> FunnelSpec:
        names = [s.name for s in self.steps]
        if len(set(names)) != len(names):
            raise ValueError(f"step names must be unique (got {names})")
        if self.dropoff:
            # Entries are kept for `period` only, and one must start within `lookback` and then
            # show no progress for `after`: outside these bounds no one could be a member.
            if self.dropoff.lookback.micros > self.period.micros:
                raise ValueError(
                    f"dropoff.lookback ({self.dropoff.lookback}) is longer than period "
                    f"({self.period}), which holds the entries it reads"
                )
            if self.dropoff.after.micros >= self.dropoff.lookback.micros:
                raise ValueError(
                    f"dropoff.after ({self.dropoff.after}) must be shorter than dropoff.lookback "
                    f"({self.dropoff.lookback})"
                )
        if self.dropoff and self.dropoff.steps:
            unknown = [s for s in self.dropoff.steps if s not in names[:-1]]
            if unknown:
                raise ValueError(
                    f"dropoff.steps {unknown} are not steps before the last: expected some of {names[:-1]}"
                )
        return self

    def dropoff_audience(self, step: str) -> str:
        return f"{self.name}__dropped_{step}"
