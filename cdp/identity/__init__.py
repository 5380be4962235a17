"""Identity: CID <-> UID evidence, the time-scoped map, per-event attribution, CRM profiles.

Rules in words: `cdp.identity.attribution`; in plain Python: `cdp.identity.reference`.
"""

from __future__ import annotations

from cdp.identity.build import IdentityReport, build_identity
from cdp.identity.crm import load_crm
from cdp.identity.metrics import IdentityStats, identity_stats
from cdp.identity.profiles import ProfilesReport, build_profiles

__all__ = [
    "IdentityReport",
    "IdentityStats",
    "ProfilesReport",
    "build_identity",
    "build_profiles",
    "identity_stats",
    "load_crm",
]
