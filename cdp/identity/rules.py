"""The identity rules' vocabulary, shared by the SQL and the pure-Python reference.

A UID is *junk* when it is NULL, equals (case-insensitively) one of `junk_uids`, or matches any
of `junk_patterns` (search semantics: RE2, as the warehouses run `REGEXP_CONTAINS`). Junk
UIDs are treated as NULL everywhere and counted. The lists reach SQL only as query parameters.
"""

from __future__ import annotations

import hashlib
from typing import Any, Final

from cdp.config import IdentitySettings
from cdp.regex import compile_re2

# Per-event attribution labels (column `stitched_events.attribution`).
LOGIN: Final = "login"  # the event itself carries a valid UID
BACKFILL: Final = "backfill"  # anonymous, before the device's first login: that first UID
AFTER_LOGOUT: Final = "after_logout"  # anonymous, after a login: the last UID seen on the device
SHARED_DEVICE: Final = "shared_device"  # anonymous on a shared device, left unattributed
SUSPICIOUS_UID: Final = "suspicious_uid"  # carries, or would be stitched to, a suspicious UID
NONE: Final = "none"  # anonymous on a device nobody ever logged in on
CONSENT_DENIED: Final = "consent_denied"  # no CID: never stitched to anyone else
ATTRIBUTIONS: Final = (
    LOGIN,
    BACKFILL,
    AFTER_LOGOUT,
    SHARED_DEVICE,
    SUSPICIOUS_UID,
    NONE,
    CONSENT_DENIED,
)

# Interval status (column `identity_map.status`).
ACTIVE: Final = "active"
SHARED: Final = "shared"
SUSPICIOUS: Final = "suspicious"


def junk_pattern(settings: IdentitySettings) -> str | None:
    """All junk patterns as one regex (alternation of non-capturing groups), or None."""
    if not settings.junk_patterns:
        return None
    return "|".join(f"(?:{p})" for p in settings.junk_patterns)


def junk_values(settings: IdentitySettings) -> list[str]:
    return sorted({v.lower() for v in settings.junk_uids})


def clean_uid_sql(settings: IdentitySettings, column: str = "uid") -> str:
    """`<column>` with junk turned into NULL. Fixed SQL text: the lists are @params."""
    tests = [f"{column} IS NULL"]
    if settings.junk_uids:
        tests.append(f"LOWER({column}) IN UNNEST(@junk_uids)")
    if settings.junk_patterns:
        tests.append(f"REGEXP_CONTAINS({column}, @junk_pattern)")
    return f"CASE WHEN {' OR '.join(tests)} THEN NULL ELSE {column} END"


def params(settings: IdentitySettings) -> dict[str, Any]:
    """Query parameters every identity statement may use (unused ones are not bound)."""
    return {
        "junk_uids": junk_values(settings),
        "junk_pattern": junk_pattern(settings),
        "max_users_per_device": settings.max_users_per_device,
        "max_devices_per_user": settings.max_devices_per_user,
        "attribute_shared_devices": settings.attribute_shared_devices,
        "include_consent_denied": settings.include_consent_denied,
        "keep_suspicious_logins": settings.keep_suspicious_logins,
    }


# Bump when the identity tables' columns or the rules' SQL change: the fingerprint then differs,
# so the first run after an upgrade rebuilds in full instead of merging into old-shaped tables.
# 2: identity_link_sessions keys sessions by ga_session_id (was session_key).
# 3: identity_junk rows per event date too.
# `build_identity` then reports "identity settings or table layout changed".
LAYOUT_VERSION: Final = 3


def settings_hash(settings: IdentitySettings) -> str:
    """Fingerprint of the rules: a change forces a full rebuild (incremental would mix rule sets)."""
    text = f"{LAYOUT_VERSION}:{settings.model_dump_json()}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class JunkFilter:
    """The Python twin of `clean_uid_sql`, for the reference implementation and tests."""

    def __init__(self, settings: IdentitySettings):
        self._values = set(junk_values(settings))
        pattern = junk_pattern(settings)
        self._pattern = compile_re2(pattern) if pattern else None

    def is_junk(self, uid: str | None) -> bool:
        if uid is None:
            return True
        if uid.lower() in self._values:
            return True
        return bool(self._pattern and self._pattern.search(uid))

    def clean(self, uid: str | None) -> str | None:
        return None if self.is_junk(uid) else uid
