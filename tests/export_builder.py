"""Tiny hand-made GA4 export rows for staging tests (the generator covers realism)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from cdp.backends.base import Backend
from cdp.ga4.schema import EVENTS_SCHEMA


def micros(day: str, seconds: int = 0) -> int:
    start = datetime.strptime(day, "%Y%m%d").replace(tzinfo=UTC)
    return int(start.timestamp()) * 1_000_000 + seconds * 1_000_000


def event(day: str, cid: str | None, name: str, second: int, *, uid: str | None = None, index: int = 0,
          page: str = "/models/ev9", params: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    event_params: list[dict[str, Any]] = [
        {"key": "ga_session_id", "value": {"int_value": micros(day) // 1_000_000}},
        {
            "key": "page_location",
            "value": {"string_value": f"https://www.example-motors.co.kr{page}?utm=x"},
        },
        {"key": "engagement_time_msec", "value": {"int_value": 100 + second}},
    ]
    for key, value in (params or {}).items():
        field = "int_value" if isinstance(value, int) else "string_value"
        event_params.append({"key": key, "value": {field: value}})
    return {
        "event_date": day, "event_timestamp": micros(day, second), "event_name": name,
        "user_pseudo_id": cid, "user_id": uid, "event_params": event_params,
        "batch_page_id": 1, "batch_ordering_id": second, "batch_event_index": index,
        "privacy_info": {"analytics_storage": "No" if cid is None else "Yes", "ads_storage": "Yes"},
        "device": {"category": "mobile"}, "geo": {"country": "South Korea", "city": "Seoul"},
        "platform": "WEB",
    }  # fmt: skip


def write_shard(backend: Backend, name: str, rows: list[dict[str, Any]]) -> None:
    backend.load_arrow(
        f"ga4.{name}", pa.Table.from_pylist(rows, schema=EVENTS_SCHEMA), mode="replace"
    )
