"""The emulator's in-memory org: records, data extensions, journeys, tokens, jobs, a request log.

Everything a test wants to assert on lives here and is safe to read from the test thread
while the server thread writes (one re-entrant lock guards it all).
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from cdp.sandbox.salesforce.ids import IdFactory
from cdp.sandbox.salesforce.schema import (
    DataExtension,
    DeField,
    EventDefinition,
    SObject,
    default_sobjects,
)

Surface = Literal["sales", "mc"]
Record = dict[str, Any]


@dataclass
class EmulatorConfig:
    """Knobs tests turn; defaults are Salesforce's documented values where one exists."""

    query_page_size: int = 2000
    sales_token_lifetime_s: float = 2 * 3600
    mc_token_lifetime_s: int = 1200
    async_pending_polls: int = 1  # status polls answered "Pending" before "Complete"
    # Async `results` list only the error items, as the official example shows (else one item
    # per row, in order: the [derived] reading the client's row outcomes rely on).
    async_results_errors_only: bool = False
    bulk_pending_polls: int = 1  # job polls answered "InProgress" before "JobComplete"
    rowset_max_rows: int = 50
    async_max_items: int = 32_000
    journey_batch_max: int = 100
    collection_max: int = 200
    api_version: str = "59.0"


@dataclass
class Credentials:
    """Who may log in. Secrets here are the emulator's own throwaway values."""

    sales_clients: dict[str, str] = field(
        default_factory=lambda: {"cdp-sandbox-consumer-key": "sandbox-consumer-secret"}
    )
    jwt_public_keys: dict[str, str] = field(default_factory=dict)  # consumer key -> PEM
    sales_users: set[str] = field(default_factory=lambda: {"integration@cdp.sandbox"})
    jwt_audience: str = ""  # the login URL; set when the server starts
    mc_clients: dict[str, str] = field(
        default_factory=lambda: {"cdp-sandbox-mc-client": "sandbox-mc-secret"}
    )
    mc_account_id: str = "100000001"


@dataclass
class Token:
    surface: Surface
    expires_at: float
    revoked: bool = False

    def valid(self) -> bool:
        return not self.revoked and time.monotonic() < self.expires_at


@dataclass
class JourneyEntry:
    event_key: str
    contact_key: str
    data: dict[str, Any]
    event_instance_id: str
    at: datetime


@dataclass
class LoggedRequest:
    method: str
    path: str
    status: int
    fault: str | None
    at: float


@dataclass
class BulkJob:
    id: str
    object: str
    operation: str
    external_id_field: str | None
    api_version: str
    created: datetime
    state: str = "Open"
    csv: str | None = None
    successful: list[Record] = field(default_factory=list)
    failed: list[Record] = field(default_factory=list)
    unprocessed: list[Record] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    error_message: str | None = None
    polls_left: int = 0


@dataclass
class AsyncRequest:
    id: str
    de_key: str
    called: datetime
    results: list[dict[str, Any]]
    polls_left: int


class EmulatorState:
    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.lock = threading.RLock()
        self.config = config or EmulatorConfig()
        self.credentials = Credentials()
        self.ids = IdFactory()
        self.sobjects: dict[str, SObject] = default_sobjects()
        self.records: dict[str, dict[str, Record]] = {name: {} for name in self.sobjects}
        self.campaign_statuses: dict[str, dict[str, bool]] = {}  # campaign -> label -> HasResponded
        self.data_extensions: dict[str, DataExtension] = {}
        self.event_definitions: dict[str, EventDefinition] = {}
        self.journey_entries: list[JourneyEntry] = []
        self.inactive_contacts: set[str] = set()
        self.tokens: dict[str, Token] = {}
        self.bulk_jobs: dict[str, BulkJob] = {}
        self.async_requests: dict[str, AsyncRequest] = {}
        self.cursors: dict[str, list[Record]] = {}
        self.request_log: list[LoggedRequest] = []
        self._last_stamp = datetime(2000, 1, 1, tzinfo=UTC)

    # ---- clock ---------------------------------------------------------------------------
    def stamp(self) -> datetime:
        """Now, in UTC at millisecond precision, never going backwards."""
        with self.lock:
            now = datetime.now(UTC)
            now = now.replace(microsecond=now.microsecond // 1000 * 1000)
            self._last_stamp = max(now, self._last_stamp)
            return self._last_stamp

    # ---- tokens --------------------------------------------------------------------------
    def issue_token(self, surface: Surface) -> tuple[str, float]:
        lifetime = (
            self.config.sales_token_lifetime_s
            if surface == "sales"
            else float(self.config.mc_token_lifetime_s)
        )
        token = ("00D5Lw!" if surface == "sales" else "eyJhbGciOi.") + secrets.token_urlsafe(32)
        with self.lock:
            self.tokens[token] = Token(surface, time.monotonic() + lifetime)
        return token, lifetime

    def token_valid(self, surface: Surface, token: str | None) -> bool:
        with self.lock:
            found = self.tokens.get(token or "")
            return found is not None and found.surface == surface and found.valid()

    def expire_tokens(self, surface: Surface | None = None) -> None:
        """Invalidate every issued token (the "session expired mid-run" case)."""
        with self.lock:
            for token in self.tokens.values():
                if surface is None or token.surface == surface:
                    token.revoked = True

    # ---- declarations --------------------------------------------------------------------
    def add_data_extension(self, key: str, fields: list[DeField]) -> DataExtension:
        with self.lock:
            de = DataExtension(key, tuple(fields))
            self.data_extensions[key] = de
            return de

    def add_event_definition(self, key: str, fields: list[DeField]) -> EventDefinition:
        with self.lock:
            ev = EventDefinition(key, tuple(fields))
            self.event_definitions[key] = ev
            return ev

    def add_campaign(
        self, name: str, statuses: list[str], responded: tuple[str, ...] = ("Responded",)
    ) -> str:
        """A Campaign with its CampaignMemberStatus labels; the first one is the default."""
        with self.lock:
            cid = self.ids.new("Campaign")
            now = self.stamp()
            self.records["Campaign"][cid] = {
                "Id": cid, "Name": name, "Type": "Other", "Status": "In Progress", "IsActive": True,
                "IsDeleted": False, "CreatedDate": now, "LastModifiedDate": now, "SystemModstamp": now,
            }  # fmt: skip
            self.campaign_statuses[cid] = {label: label in responded for label in statuses}
            return cid

    # ---- inspection ----------------------------------------------------------------------
    def all(self, sobject: str) -> list[Record]:
        with self.lock:
            return [dict(r) for r in self.records[sobject].values()]

    def find(self, sobject: str, **match: Any) -> list[Record]:
        return [r for r in self.all(sobject) if all(r.get(k) == v for k, v in match.items())]

    def de_rows(self, key: str) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(r) for r in self.data_extensions[key].rows.values()]

    def entries(self, event_key: str, contact_key: str | None = None) -> list[JourneyEntry]:
        with self.lock:
            return [
                e
                for e in self.journey_entries
                if e.event_key == event_key
                and (contact_key is None or e.contact_key == contact_key)
            ]

    def requests(self, pattern: str = "") -> list[LoggedRequest]:
        """Logged requests whose "METHOD /path" contains `pattern`."""
        with self.lock:
            return [r for r in self.request_log if pattern in f"{r.method} {r.path}"]

    def touch(self, sobject: str, record_id: str, at: datetime | None = None) -> None:
        """Bump SystemModstamp (as any edit in the org would)."""
        with self.lock:
            rec = self.records[sobject][record_id]
            rec["SystemModstamp"] = rec["LastModifiedDate"] = at or self.stamp()

    def backdate(self, sobject: str, delta: timedelta) -> None:
        """Shift every record's timestamps into the past (seeded data looks old)."""
        with self.lock:
            for rec in self.records[sobject].values():
                for name in ("CreatedDate", "LastModifiedDate", "SystemModstamp"):
                    rec[name] = rec[name] - delta
