"""Checks that run before anything is sent: source tables and columns, destination fields,
credentials, and (unless dry-run) the destination itself. Each failure is one ConfigError
naming the destination and the field; no secret ever appears in it."""

from __future__ import annotations

from simple_salesforce import format_soql

from cdp.backends.base import Backend
from cdp.delivery.clients import Clients
from cdp.delivery.config import (
    CampaignDestination,
    DataExtensionDestination,
    Destination,
    EntryDataExtension,
    JourneyDestination,
)
from cdp.delivery.diff import PlanQuery, plan_query, source_tables
from cdp.errors import CdpError, ConfigError, TerminalError
from cdp.salesforce.secrets import secret_from_env
from cdp.salesforce.settings import SalesforceSettings

REQUIRED = {
    "profiles": ("uid", "opted_out"),
    "audience_members": ("audience", "uid", "is_holdout"),
    "trigger_firings": ("trigger", "uid", "start_event_key", "deliver_after", "expires_at"),
}
PROBE = "__cdp_preflight__"  # a primary-key value no real row has


def source_columns(backend: Backend, dest: Destination) -> dict[str, list[str]]:
    columns: dict[str, list[str]] = {}
    for table in source_tables(dest):
        if not backend.table_exists(table):
            raise ConfigError(
                f"source table {table} does not exist", field=f"destinations.{dest.name}.source"
            )
        names = backend.column_names(table)
        missing = [c for c in REQUIRED[table] if c not in names]
        if missing:
            raise ConfigError(
                f"table {table} lacks column {missing[0]}", field=f"destinations.{dest.name}.source"
            )
        columns[table] = list(names)
    return columns


def _check_de_fields(de: EntryDataExtension, dest: str, extra: tuple[str | None, ...] = ()) -> None:
    if de.de_fields is None:
        return
    declared = {f.lower() for f in de.de_fields}  # SFMC column names are case-insensitive
    for name in [*de.fields, *de.constants, *de.primary_key, *(e for e in extra if e)]:
        if name.lower() not in declared:
            raise ConfigError(
                f"{name!r} is not a field of data extension {de.de_key!r}",
                field=f"destinations.{dest}.fields.{name}",
            )


def _check_audience(backend: Backend, dest: Destination) -> None:
    """The source audience has been evaluated: a misspelt name would read as an empty audience
    and remove every member the destination holds."""
    from cdp.audiences.store import MEMBERS, RUNS

    audience = dest.source.audience
    if audience is None:
        return
    # Evaluated, or holding members: one row of it is enough.
    tables = [table for table in (RUNS, MEMBERS) if backend.table_exists(table)]
    for table in tables:
        found = f"SELECT 1 FROM {table} WHERE audience = @audience LIMIT 1"
        if backend.query(found, {"audience": audience}).num_rows:
            return
    known: set[str] = set()  # read only for the error, as it scans every member row
    for table in tables:
        names = backend.query(f"SELECT DISTINCT audience FROM {table}").column(0)
        known |= {str(a) for a in names.to_pylist()}
    raise ConfigError(
        f"no audience {audience!r} has been evaluated (known: {', '.join(sorted(known)) or 'none'})",
        field=f"destinations.{dest.name}.source.audience",
    )


def local(backend: Backend, dest: Destination) -> PlanQuery:
    """Everything checkable without Salesforce; returns the destination's diff query."""
    _check_audience(backend, dest)
    query = plan_query(dest, source_columns(backend, dest))
    if isinstance(dest, DataExtensionDestination):
        flag = (dest.flag_field, dest.exited_at_field) if dest.removal == "flag" else ()
        _check_de_fields(dest, dest.name, flag)
    elif isinstance(dest, JourneyDestination) and dest.data_extension is not None:
        _check_de_fields(dest.data_extension, f"{dest.name}.data_extension")
    return query


def credentials(settings: SalesforceSettings, dests: list[Destination]) -> None:
    """Every secret the run will need is set (the error names the variable, never a value)."""
    if any(not isinstance(d, CampaignDestination) for d in dests):
        secret_from_env(settings.marketing_cloud.client_id_env)
        secret_from_env(settings.marketing_cloud.client_secret_env)
    if any(isinstance(d, CampaignDestination) for d in dests):
        sc = settings.sales_cloud
        secret_from_env(
            sc.consumer_secret_env if sc.auth == "client_credentials" else sc.private_key_env
        )


def _probe_de(clients: Clients, de: EntryDataExtension, dest: str) -> None:
    """A delete of a row that cannot exist: checks the DE key and primary key, changes nothing
    ([derived] route, as the client's delete_rows)."""
    try:
        clients.mc.delete_rows(de.de_key, [{k: PROBE for k in de.primary_key}])
    except TerminalError as err:
        raise ConfigError(
            f"data extension {de.de_key!r} refused the probe (wrong key or primary key?): {err}",
            field=f"destinations.{dest}.de_key",
        ) from None


def remote(clients: Clients, dest: Destination) -> None:
    try:
        if isinstance(dest, DataExtensionDestination) and dest.preflight:
            _probe_de(clients, dest, dest.name)
        elif isinstance(dest, JourneyDestination) and dest.data_extension is not None:
            _probe_de(clients, dest.data_extension, f"{dest.name}.data_extension")
        elif isinstance(dest, CampaignDestination):
            _check_campaign(clients, dest)
    except ConfigError:
        raise
    except CdpError as err:
        if isinstance(err, TerminalError):
            raise ConfigError(str(err), field=f"destinations.{dest.name}") from None
        raise


def _check_campaign(clients: Clients, dest: CampaignDestination) -> None:
    fields = {
        f["name"].lower(): f for f in clients.sales.describe("CampaignMember").get("fields", [])
    }
    where = f"destinations.{dest.name}"
    ext = fields.get(dest.external_id_field.lower())
    if ext is None or not ext.get("externalId"):
        raise ConfigError(
            f"CampaignMember.{dest.external_id_field} is not an external id field",
            field=f"{where}.external_id_field",
        )
    for name in [*dest.fields, *dest.constants]:
        f = fields.get(name.lower())
        if f is None or not f.get("createable"):
            raise ConfigError(
                f"CampaignMember.{name} does not exist or is not writable",
                field=f"{where}.fields.{name}",
            )
    soql = format_soql("SELECT Id FROM Campaign WHERE Id = {}", dest.campaign_id)
    if not any(page for page in clients.sales.query_pages(soql)):
        raise ConfigError(f"campaign {dest.campaign_id} not found", field=f"{where}.campaign_id")
