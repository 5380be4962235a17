"""The clock every segment evaluation runs on: an explicit as_of (default: the latest event)."""

from __future__ import annotations

import uuid
from datetime import datetime

from cdp.backends.base import Backend
from cdp.errors import InputError
from cdp.segments.durations import from_micros, to_micros
from cdp.segments.population import EVENTS


def latest_event_us(backend: Backend) -> int:
    value = backend.scalar(f"SELECT MAX(event_timestamp) FROM {EVENTS}")
    if value is None:
        raise InputError(f"{EVENTS} is empty: nothing to evaluate")
    return int(value)


def resolve_as_of(backend: Backend, as_of: datetime | None) -> int:
    """µs of `as_of`, or of the latest event in the data (reproducible by default)."""
    return to_micros(as_of) if as_of is not None else latest_event_us(backend)


def new_run_id(as_of_us: int) -> str:
    return f"{from_micros(as_of_us):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
