"""Audiences: identified people whose behaviour and CRM attributes match a spec, as snapshots."""

from __future__ import annotations

from cdp.audiences.run import AudiencePreview, preview_audience, run_audience, run_audiences
from cdp.audiences.spec import AudienceSpec, Condition
from cdp.audiences.store import AudienceResult

__all__ = [
    "AudiencePreview",
    "AudienceResult",
    "AudienceSpec",
    "Condition",
    "preview_audience",
    "run_audience",
    "run_audiences",
]
