"""Funnels: ordered CEJ steps, per-step conversion, and drop-off audiences."""

from __future__ import annotations

from cdp.funnels.run import FunnelReport, FunnelRow, run_funnel, run_funnels
from cdp.funnels.spec import FunnelSpec, FunnelStep

__all__ = ["FunnelReport", "FunnelRow", "FunnelSpec", "FunnelStep", "run_funnel", "run_funnels"]
