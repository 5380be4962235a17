"""Trigger specs: "did X, then did not do Y within W" scenarios, and their delivery rules.

```yaml
kind: trigger
name: test_drive_abandoned
start: {event: test_drive_click}
completion: [{event: test_drive_submit}]
wait: 30m
scope: window            # or: session (completion must be in the start's session)
cooldown: 24h            # per person, per trigger
quiet_hours: {start: "21:00", end: "08:00", time_zone: Asia/Seoul}
expiry: 6h               # never send an occurrence older than this
context: [model]         # start-event columns carried into the firing
```
"""

from __future__ import annotations

import re
from datetime import time
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from cdp.audiences.spec import check_name
from cdp.segments.durations import Duration
from cdp.segments.filters import EventFilter
from cdp.segments.population import Population
from cdp.specs import StrictModel, TimeZoneName, with_project_zone

#: Columns of `trigger_firings` a context column may not shadow (cid and session_key are carried anyway).
_RESERVED_CONTEXT = {"trigger", "uid", "start_event_key", "crm_record_id", "start_event_timestamp", "start_ts",
                     "status", "reason", "fired_at", "deliver_after", "expires_at", "run_id", "context"}  # fmt: skip
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class QuietHours(StrictModel):
    """Local clock times [start, end) during which nothing is sent; may wrap midnight."""

    start: str
    end: str
    time_zone: TimeZoneName = "Asia/Seoul"  # or the project's `time_zone`, when loaded with it

    @model_validator(mode="before")
    @classmethod
    def _project_zone(cls, value: Any, info: ValidationInfo) -> Any:
        return with_project_zone(value, info)

    @field_validator("start", "end", mode="before")
    @classmethod
    def _clock(cls, value: Any) -> str:
        if isinstance(value, int):  # YAML reads 21:00 as sexagesimal 1260
            value = f"{value // 60:02d}:{value % 60:02d}"
        if not isinstance(value, str) or not _CLOCK.match(value):
            raise ValueError(f"expected a clock time HH:MM (got {value!r})")
        return value

    @model_validator(mode="after")
    def _distinct(self) -> QuietHours:
        if self.start == self.end:
            raise ValueError("start and end are the same time")
        return self

    @staticmethod
    def parse(clock: str) -> time:
        hours, minutes = clock.split(":")
        return time(int(hours), int(minutes))


class TriggerSpec(StrictModel):
    kind: Literal["trigger"] = "trigger"
    name: str
    description: str = ""
    start: EventFilter
    completion: list[EventFilter] = Field(min_length=1)
    wait: Duration
    scope: Literal["window", "session"] = "window"
    population: Population = Field(default_factory=Population)
    cooldown: Duration | None = None
    quiet_hours: QuietHours | None = None
    expiry: Duration | None = None
    context: list[str] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name(value)

    @field_validator("completion", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value

    @field_validator("completion", mode="after")
    @classmethod
    def _completion_differs(
        cls, value: list[EventFilter], info: ValidationInfo
    ) -> list[EventFilter]:
        start = info.data.get("start")
        for i, completion in enumerate(value):
            if isinstance(start, EventFilter) and same_event(start, completion):
                raise ValueError(
                    f"completion {i} is the same event as start ({'|'.join(start.event)} with the same "
                    "filters), so every start would complete itself; expected a different event or filter"
                )
        return value

    @field_validator("context")
    @classmethod
    def _context(cls, value: list[str]) -> list[str]:
        taken = sorted(set(value) & _RESERVED_CONTEXT)
        if taken:
            raise ValueError(
                f"{taken} are firing columns already; expected event columns such as model, page_path"
            )
        return value

    @model_validator(mode="after")
    def _expiry_after_wait(self) -> TriggerSpec:
        if self.expiry is not None and self.expiry.micros <= self.wait.micros:
            raise ValueError(f"expiry ({self.expiry}) must be longer than wait ({self.wait})")
        return self


def same_event(a: EventFilter, b: EventFilter) -> bool:
    key = lambda f: sorted(p.model_dump_json(by_alias=True) for p in f.where)  # noqa: E731
    return sorted(a.event) == sorted(b.event) and key(a) == key(b)


class TriggerSettings(StrictModel):
    """Rules across all triggers (one block in settings, or a `kind: trigger_settings` spec)."""

    kind: Literal["trigger_settings"] = "trigger_settings"
    #: Data is treated as complete up to (latest event_ts - safety_lag).
    safety_lag: Duration = Field(default_factory=lambda: Duration(minutes=15))
    #: How long after a start becomes decidable (its `wait` over) it is still (re)considered;
    #: covers staging's lookback reprocessing and missed runs.
    lookback: Duration = Field(default_factory=lambda: Duration(days=3))
    #: Least time a firing must leave between its delivery (after quiet hours) and its expiry:
    #: the time to the next delivery run. A firing with less is `expired`, not `fire`, so it
    #: does not take a cooldown or the daily cap without ever being sent.
    delivery_margin: Duration = Field(default_factory=lambda: Duration(minutes=15))
    #: Most firings one person gets per local day across all triggers (None: no cap).
    daily_cap: int | None = Field(default=3, ge=1)
    #: The zone of the daily cap's days (default: the project's `time_zone`, else Asia/Seoul).
    time_zone: TimeZoneName = "Asia/Seoul"

    @model_validator(mode="before")
    @classmethod
    def _project_zone(cls, value: Any, info: ValidationInfo) -> Any:
        return with_project_zone(value, info)
