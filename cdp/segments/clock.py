"""The clock every segment evaluation runs on: an explicit as_of (default: the latest event).

"The latest event" is the latest one not after the wall clock: GA4's `event_timestamp` is the
client's clock, so one device set a day ahead would otherwise move every audience window, and
the trigger watermark, into the future (audiences emptied, pending starts decided early).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from cdp.backends.base import Backend
from cdp.errors import InputError
from cdp.segments.durations import from_micros, to_micros
from cdp.segments.population import EVENTS


def latest_event_us(backend: Backend, not_after: datetime | None = None) -> int | None:
    """µs of the latest event at or before `not_after` (default: now); None when there is none."""
    limit = to_micros(not_after or datetime.now(UTC))
    value = backend.scalar(
        f"SELECT MAX(event_timestamp) FROM {EVENTS} WHERE event_timestamp <= @not_after_us",
        {"not_after_us": limit},
    )
    return None if value is None else int(value)


def resolve_as_of(backend: Backend, as_of: datetime | None) -> int:
    """µs of `as_of`, or of the latest event in the data (reproducible by default)."""
    if as_of is not None:
        return to_micros(as_of)
    latest = latest_event_us(backend)
    if latest is None:
        raise InputError(f"{EVENTS} has no event up to now: nothing to evaluate")
    return latest


def new_run_id(as_of_us: int) -> str:
    return f"{from_micros(as_of_us):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
