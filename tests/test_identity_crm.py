"""CRM loading, profiles and identity metrics."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cdp.backends.duckdb import DuckDBBackend
from cdp.config import CrmSettings, IdentitySettings
from cdp.errors import ConfigError, InputError
from cdp.identity import build_identity, build_profiles, identity_stats, load_crm
from tests.identity_strategies import T0, make_event, stg_table

ROWS = [
    make_event("a", T0, "C1", None),
    make_event("b", T0 + timedelta(hours=1), "C1", "alice"),
    make_event("c", T0 + timedelta(hours=2), "C2", "bob"),
    make_event("d", T0 + timedelta(days=1), "C3", None),
    make_event("e", T0 + timedelta(days=1), "C3", "undefined"),
    make_event("f", T0 + timedelta(days=1), None, "carol"),
]


@pytest.fixture
def identity(duck: DuckDBBackend) -> DuckDBBackend:
    duck.load_arrow("stg_events", stg_table(ROWS), mode="replace")
    build_identity(duck, IdentitySettings())
    return duck


def test_profiles_from_csv(identity: DuckDBBackend, tmp_path: Path) -> None:
    (tmp_path / "crm.csv").write_text(
        "Id,MemberId,Mail,OptOut,Tier,Kind,segment\n"
        "003A,alice,a@example.com,no,gold,Lead,vip\n"
        "003B,alice,a2@example.com,yes,gold,Contact,vip\n"
        "003C,00123,z@example.com,false,silver,Contact,std\n"
    )
    crm = CrmSettings(file="crm.csv", record_id="Id", uid="MemberId", email="Mail", opted_out="OptOut",
                      customer_type="Tier", record_type="Kind", attributes=["segment"])  # fmt: skip
    assert load_crm(identity, crm, tmp_path) == 3
    assert (
        identity.scalar("SELECT uid FROM crm_customers WHERE record_id = '003C'") == "00123"
    )  # ids stay text
    report = build_profiles(identity, crm)
    assert (report.profiles, report.matched, report.unmatched, report.unmatched_sample) == (
        2,
        1,
        1,
        ["bob"],
    )
    alice = identity.query("SELECT * FROM profiles WHERE uid = 'alice'").to_pylist()[0]
    # The Contact wins over the Lead; any opted-out record suppresses the person.
    assert (alice["crm_record_id"], alice["record_type"], alice["opted_out"]) == (
        "003B",
        "Contact",
        True,
    )
    assert (alice["segment"], alice["device_count"], alice["events"], alice["crm_records"]) == (
        "vip",
        1,
        2,
        2,
    )
    assert alice["first_seen"] == T0  # includes the backfilled anonymous event


def test_crm_attributes_take_their_declared_type(identity: DuckDBBackend, tmp_path: Path) -> None:
    """A CSV's `true` and `1500` load as bool and int, while specs checked every attribute as a
    string: `gte: 1000` was refused, and `prefix` accepted, then failed mid-run."""
    from cdp.audiences import AudienceSpec, run_audience
    from cdp.segments.columns import profile_columns
    from cdp.segments.loader import load_spec

    (tmp_path / "crm.csv").write_text(
        "record_id,uid,email,opted_out,customer_type,is_vip,lifetime_value,tier\n"
        "003A,alice,a@example.com,false,owner,true,1500,1\n"
        "003B,bob,b@example.com,false,owner,false,900,2\n"
    )
    crm = CrmSettings(file="crm.csv", attributes=["is_vip", "lifetime_value", "tier"],
                      attribute_types={"is_vip": "bool", "lifetime_value": "int"})  # fmt: skip
    load_crm(identity, crm, tmp_path)
    build_profiles(identity, crm)
    schema = identity.query("SELECT * FROM profiles LIMIT 0").schema
    assert [str(schema.field(c).type) for c in ("is_vip", "lifetime_value", "tier")] == [
        "bool", "int64", "string",
    ]  # fmt: skip
    known = profile_columns(crm)

    def members(leaf: dict[str, object]) -> list[str]:
        doc = {"kind": "audience", "name": "a", "condition": {"crm": leaf}}
        spec = load_spec(doc, path="a.yaml", profiles=known)
        assert isinstance(spec, AudienceSpec)
        run_audience(identity, spec, T0 + timedelta(days=2))
        return sorted(identity.query("SELECT uid FROM audience_members").column(0).to_pylist())

    assert members({"param": "lifetime_value", "gte": 1000}) == ["alice"]
    assert members({"param": "is_vip", "equals": True}) == ["alice"]
    assert members({"param": "tier", "equals": "2"}) == ["bob"]  # undeclared: a string
    with pytest.raises(ConfigError, match="lifetime_value"):
        load_spec({"kind": "audience", "name": "a",
                   "condition": {"crm": {"param": "lifetime_value", "prefix": "15"}}},
                  path="a.yaml", profiles=known)  # fmt: skip
    with pytest.raises(ValueError, match="not in attributes"):
        CrmSettings.model_validate({"attributes": ["a"], "attribute_types": {"b": "int"}})
    # Named like a column of its own, it shadowed it: an `opted_out` attribute lost an opt-out.
    for shadowing in ("opted_out", "first_seen", "Email"):
        with pytest.raises(ValueError, match="is a crm_customers or profiles column"):
            CrmSettings(attributes=[shadowing])


def test_profiles_without_crm_table_and_from_parquet_or_table(
    identity: DuckDBBackend, tmp_path: Path
) -> None:
    report = build_profiles(identity, CrmSettings(attributes=["segment"]))
    assert report.crm_table_missing and report.matched == 0 and report.profiles == 2
    pq.write_table(pa.table({"record_id": ["1"], "uid": ["bob"], "email": ["b@x"], "opted_out": [False],
                             "customer_type": ["x"]}), tmp_path / "crm.parquet")  # fmt: skip
    from_file = CrmSettings(file="crm.parquet")
    assert load_crm(identity, from_file, tmp_path) == 1
    assert build_profiles(identity, from_file).matched == 1
    # A crm_customers left from another source is not joined with `source: none`.
    assert build_profiles(identity, CrmSettings()).matched == 0
    identity.execute("CREATE TABLE crm_src AS SELECT 7 AS id, 'alice' AS member, TRUE AS optout")
    crm = CrmSettings(source="table", table="crm_src", record_id="id", uid="member", opted_out="optout",
                      email="member", customer_type="member")  # fmt: skip
    assert load_crm(identity, crm) == 1
    assert identity.scalar("SELECT record_id FROM crm_customers") == "7"


def test_crm_config_errors(identity: DuckDBBackend, tmp_path: Path) -> None:
    (tmp_path / "crm.csv").write_text("id,uid\n1,alice\n")
    with pytest.raises(ConfigError, match=r"crm\.record_id"):
        load_crm(identity, CrmSettings(file="crm.csv"), tmp_path)
    with pytest.raises(InputError):
        load_crm(identity, CrmSettings(file="missing.csv"), tmp_path)
    with pytest.raises(ValueError, match=r"crm\.table is not set"):  # at config load
        CrmSettings(source="table")
    assert CrmSettings().source == "none" and load_crm(identity, CrmSettings()) == 0
    with pytest.raises(InputError, match="CRM pull"):
        load_crm(identity, CrmSettings(source="salesforce"))


def test_identity_stats(identity: DuckDBBackend) -> None:
    build_profiles(identity)
    stats = identity_stats(identity)
    assert (stats.events, stats.identified_events, stats.consent_denied_events) == (6, 3, 1)
    assert (stats.cids, stats.identified_cids) == (3, 2)
    assert (stats.junk_uid_events, stats.junk_uid_values, stats.profiles, stats.crm_matched) == (
        1,
        1,
        2,
        0,
    )
    assert stats.crm_match_rate == 0.0
    assert [d["events"] for d in stats.daily] == [3, 3]
    assert stats.daily[1]["junk_uid_events"] == 1
    assert stats.as_table().num_rows == 2
    assert dict(stats.rows())["events identified"] == "3 / 6 (50.0%)"


def test_crm_table_columns_are_checked(identity: DuckDBBackend) -> None:
    identity.execute("CREATE TABLE crm_src AS SELECT 7 AS id, 'alice' AS member, TRUE AS optout")

    def table(name: str, email: str) -> CrmSettings:
        return CrmSettings(source="table", table=name, record_id="id", uid="member", email=email,
                           opted_out="optout", customer_type="member")  # fmt: skip

    with pytest.raises(ConfigError, match=r"crm\.email: column 'Mail' not found in table crm_src"):
        load_crm(identity, table("crm_src", "Mail"))
    # Named like a column loaded before it: DuckDB would read that output column, so it is refused.
    with pytest.raises(ConfigError, match=r"crm\.email: column 'uid' not found"):
        load_crm(identity, table("crm_src", "uid"))
    with pytest.raises(ConfigError, match=r"crm\.table: cannot read CRM table nowhere"):
        load_crm(identity, table("nowhere", "member"))
    assert not identity.table_exists("crm_customers")  # nothing half-loaded


def test_daily_metrics_by_event_date(duck: DuckDBBackend, tmp_path: Path) -> None:
    """Each day counts its own events' junk UIDs (a late one too), devices, UIDs, CRM matches."""
    late_junk = make_event("g", T0 + timedelta(hours=3), "C2", "null", shard_lag_days=1)
    shared = [make_event("h", T0 + timedelta(days=1, hours=2), "C4", "dave"),
              make_event("i", T0 + timedelta(days=1, hours=3), "C4", "erin")]  # fmt: skip
    duck.load_arrow("stg_events", stg_table([*ROWS, late_junk, *shared]), mode="replace")
    build_identity(duck, IdentitySettings(max_users_per_device=1))
    assert identity_stats(duck).daily[0]["crm_matched_uids"] is None  # no profiles yet
    (tmp_path / "crm.csv").write_text(
        "record_id,uid,email,opted_out,customer_type\n1,alice,a@x,no,gold\n2,dave,d@x,no,gold\n"
    )
    crm = CrmSettings(file="crm.csv")
    load_crm(duck, crm, tmp_path)
    build_profiles(duck, crm)
    stats = identity_stats(duck)
    day0, day1 = stats.daily
    assert (day0["events"], day0["junk_uid_events"], day1["junk_uid_events"]) == (4, 1, 1)
    assert stats.junk_uid_events == sum(d["junk_uid_events"] for d in stats.daily) == 2
    assert (day0["shared_devices"], day1["shared_devices"]) == (0, 1)
    assert (day0["uids"], day0["crm_matched_uids"], day0["crm_match_rate"]) == (2, 1, 0.5)
    assert (day1["uids"], day1["crm_matched_uids"], day1["crm_match_rate"]) == (2, 1, 0.5)
    rows = dict(stats.rows())
    assert rows["CRM unmatched UIDs"] == "bob, erin"
    printed = stats.daily_rows()
    assert (printed[1]["shared"], printed[1]["CRM %"]) == ("1", "50.0%")
    assert (printed[0]["junk"], printed[0]["ev %"]) == ("1", "100.0%")


def test_suspicious_uids_per_day(duck: DuckDBBackend) -> None:
    rows = [make_event(f"s{i}", T0 + timedelta(hours=i), f"D{i}", "shared-login") for i in range(3)]
    duck.load_arrow("stg_events", stg_table(rows), mode="replace")
    build_identity(duck, IdentitySettings(max_devices_per_user=2, keep_suspicious_logins=False))
    [day] = identity_stats(duck).daily
    assert (day["suspicious_uids"], day["suspicious_uid_events"], day["uids"]) == (1, 3, 0)
    counts = [v for k, v in day.items() if k.endswith(("events", "uids", "cids")) and v is not None]
    assert counts and all(type(v) is int for v in counts)  # not decimals


def test_stats_on_tables_of_an_older_layout_say_what_to_do(identity: DuckDBBackend) -> None:
    identity.execute(
        "CREATE OR REPLACE TABLE identity_junk AS SELECT '20240301' AS shard_date, 1 AS events"
    )
    with pytest.raises(
        InputError, match="identity tables do not match this version: run the identity"
    ):
        identity_stats(identity)


def test_a_crm_source_without_its_file_or_table_fails_at_config_load(tmp_path: Path) -> None:
    """It validated, then failed in `cdp identity build` after the identity tables were built;
    and the default (source: file, no file) could not run at all."""
    from cdp.config import load_settings

    config = tmp_path / "cdp.yaml"
    config.write_text("crm: {source: file}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"crm\.source is file but crm\.file is not set") as info:
        load_settings(config)
    assert str(config) in str(info.value)
    config.write_text("crm: {file: crm.csv}\n", encoding="utf-8")
    assert load_settings(config).crm.source == "file"


def test_paths_in_a_config_are_relative_to_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """They were relative to the working directory: `cdp stage -c proj/cdp.yaml` run from
    elsewhere made a new empty DuckDB file and found no export."""
    from cdp.config import load_settings

    project = tmp_path / "proj"
    project.mkdir()
    (project / "cdp.yaml").write_text(
        "duckdb: {path: data/cdp.duckdb}\ncrm: {file: crm.csv}\nspecs_dir: specs\n"
        "salesforce: {ca_bundle: /etc/ssl/ca.pem}\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    settings = load_settings("proj/cdp.yaml")
    assert Path(settings.duckdb.path) == project / "data/cdp.duckdb"
    assert Path(settings.crm.file or "") == project / "crm.csv"
    assert Path(settings.specs_dir) == project / "specs"
    assert settings.salesforce.ca_bundle == "/etc/ssl/ca.pem"  # absolute: as written
    assert load_settings(None).duckdb.path == ".cdp/cdp.duckdb"  # defaults: the working dir
