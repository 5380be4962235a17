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

from typing import Literal

from pydantic import Field, field_validator, model_validator

from cdp.audiences.spec import check_name
from cdp.segments.durations import Duration
from cdp.segments.filters import EventFilter
from cdp.segments.population import Population
from cdp.specs import StrictModel


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
    steps: list[str] | None = None
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

    @model_validator(mode="after")
    def _steps(self) -> FunnelSpec:
        names = [s.name for s in self.steps]
        if len(set(names)) != len(names):
            raise ValueError(f"step names must be unique (got {names})")
        if self.dropoff and self.dropoff.steps:
            unknown = [s for s in self.dropoff.steps if s not in names[:-1]]
            if unknown:
                raise ValueError(
                    f"dropoff.steps {unknown} are not steps before the last: expected some of {names[:-1]}"
                )
        return self

    def dropoff_audience(self, step: str) -> str:
        return f"{self.name}__dropped_{step}"
