"""Triggers: behaviour scenarios ("clicked test drive, no request within 30 minutes") as firings."""

from __future__ import annotations

from cdp.triggers.run import TriggerReport, detect_triggers, next_due
from cdp.triggers.spec import QuietHours, TriggerSettings, TriggerSpec

__all__ = [
    "QuietHours",
    "TriggerReport",
    "TriggerSettings",
    "TriggerSpec",
    "detect_triggers",
    "next_due",
]
