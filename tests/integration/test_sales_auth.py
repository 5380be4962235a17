from __future__ import annotations

import pytest
import requests

from cdp.errors import ConfigError, TerminalError
from cdp.salesforce.sales_cloud import SalesCloudClient
from cdp.salesforce.settings import SalesforceSettings
from cdp.sandbox.salesforce import Emulator


def test_client_credentials_login_and_describe(sales: SalesCloudClient) -> None:
    described = sales.describe("Contact")
    names = {f["name"] for f in described["fields"]}
    assert {"Id", "Email", "Web_User_Id__c", "HasOptedOutOfEmail", "SystemModstamp"} <= names
    assert sales.sf.sf_instance.startswith("127.0.0.1:")


def test_jwt_bearer_login(sf_settings: SalesforceSettings, emulator: Emulator) -> None:
    settings = sf_settings.model_copy(
        update={"sales_cloud": sf_settings.sales_cloud.model_copy(update={"auth": "jwt"})}
    )
    client = SalesCloudClient(settings)
    assert client.describe("Lead")["name"] == "Lead"
    assert emulator.state.requests("POST /services/oauth2/token")[-1].status == 200


def test_jwt_signed_by_unknown_key_is_terminal(
    sf_settings: SalesforceSettings, monkeypatch: pytest.MonkeyPatch, unknown_private_key: str
) -> None:
    monkeypatch.setenv("CDP_SF_PRIVATE_KEY", unknown_private_key)
    settings = sf_settings.model_copy(
        update={"sales_cloud": sf_settings.sales_cloud.model_copy(update={"auth": "jwt"})}
    )
    with pytest.raises(TerminalError, match="invalid_grant"):
        SalesCloudClient(settings).describe("Contact")


def test_bad_secret_is_terminal_without_retry(
    sales: SalesCloudClient, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CDP_SF_CONSUMER_SECRET", "definitely-wrong-secret")
    before = len(emulator.state.requests("POST /services/oauth2/token"))
    with pytest.raises(TerminalError, match="invalid_client") as info:
        sales.describe("Contact")
    assert "definitely-wrong-secret" not in str(info.value)
    assert len(emulator.state.requests("POST /services/oauth2/token")) == before + 1


def test_missing_secret_env_names_the_variable(
    sales: SalesCloudClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CDP_SF_CONSUMER_SECRET")
    with pytest.raises(ConfigError, match="CDP_SF_CONSUMER_SECRET"):
        sales.describe("Contact")


def test_session_expiry_mid_run_reauthenticates(
    sales: SalesCloudClient, emulator: Emulator
) -> None:
    sales.describe("Contact")
    logins = len(emulator.state.requests("oauth2/token"))
    emulator.faults.expire_tokens(r"GET .*/describe")
    assert sales.describe("Lead")["name"] == "Lead"
    assert len(emulator.state.requests("oauth2/token")) == logins + 1
    assert [r.status for r in emulator.state.requests("/sobjects/Lead/describe")][-2:] == [401, 200]


def test_tls_is_verified_against_the_emulator_ca(emulator: Emulator) -> None:
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{emulator.base_url}/services/data/v59.0/query", verify=True, timeout=5)
