"""The emulator's wire format, checked with plain requests (what a real org would answer)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from cdp.sandbox.salesforce import Emulator
from cdp.sandbox.salesforce.server import SANDBOX_ENV


@pytest.fixture
def http(emulator: Emulator) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.verify = str(emulator.ca_bundle)
        yield session


def _sales_token(http: requests.Session, emulator: Emulator) -> str:
    form = {
        "grant_type": "client_credentials",
        "client_id": "cdp-sandbox-consumer-key",
        "client_secret": SANDBOX_ENV["CDP_SF_CONSUMER_SECRET"],
    }
    return str(
        http.post(
            f"{emulator.base_url}/services/oauth2/token", data=form, verify=http.verify
        ).json()["access_token"]
    )


def _mc_token(http: requests.Session, emulator: Emulator) -> tuple[str, str]:
    body = {
        "grant_type": "client_credentials",
        "client_id": SANDBOX_ENV["CDP_MC_CLIENT_ID"],
        "client_secret": SANDBOX_ENV["CDP_MC_CLIENT_SECRET"],
    }
    reply = http.post(f"{emulator.mc_auth_url}v2/token", json=body, verify=http.verify).json()
    assert reply["expires_in"] == 1200 and reply["rest_instance_url"] == emulator.mc_rest_url
    return reply["access_token"], reply["rest_instance_url"]


def test_sales_errors_are_json_arrays(http: requests.Session, emulator: Emulator) -> None:
    url = f"{emulator.base_url}/services/data/v59.0/query"
    unauth = http.get(url, params={"q": "SELECT Id FROM Contact"}, verify=http.verify)
    assert unauth.status_code == 401 and unauth.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID", "fields": []}
    ]
    headers = {"Authorization": f"Bearer {_sales_token(http, emulator)}"}
    cases = {
        "SELECT Id FROM Contact WHERE": "MALFORMED_QUERY",
        "SELECT Id FROM Widget__c": "INVALID_TYPE",
        "SELECT Id FROM Contact WHERE SystemModstamp > '2024-01-01'": "INVALID_FIELD",
    }
    for soql, code in cases.items():
        reply = http.get(url, params={"q": soql}, headers=headers, verify=http.verify)
        assert reply.status_code == 400 and reply.json()[0]["errorCode"] == code, soql
    ok = http.get(
        url,
        params={
            "q": "SELECT Id FROM Contact WHERE Email = 'it\\'s@x.com' AND HasOptedOutOfEmail = false"
        },
        headers=headers,
        verify=http.verify,
    )
    assert ok.status_code == 200 and ok.json()["totalSize"] == 0


def test_mc_errors_are_flat_objects(http: requests.Session, emulator: Emulator) -> None:
    assert (
        http.post(
            f"{emulator.mc_rest_url}interaction/v1/events", json={}, verify=http.verify
        ).json()["errorcode"]
        == 0
    )
    token, rest = _mc_token(http, emulator)
    headers = {"Authorization": f"Bearer {token}"}
    too_many = [{"keys": {"firing_id": str(i)}, "values": {}} for i in range(51)]
    reply = http.post(
        f"{rest}hub/v1/dataevents/key:cdp_trigger_firings/rowset",
        json=too_many,
        headers=headers,
        verify=http.verify,
    )
    assert reply.status_code == 400 and set(reply.json()) >= {
        "message",
        "errorcode",
        "documentation",
    }
    journey = http.post(
        f"{rest}interaction/v1/events",
        json={
            "ContactKey": "c",
            "EventDefinitionKey": "APIEvent-test-drive-abandon",
            "Data": {"uid": "u"},
        },
        headers=headers,
        verify=http.verify,
    )
    assert journey.status_code == 201 and "eventInstanceId" in journey.json()


def test_fault_error_bodies_match_the_surface(http: requests.Session, emulator: Emulator) -> None:
    emulator.faults.throttle("/mc-rest/", retry_after=2)
    emulator.faults.error("/services/data/", status=500)
    mc = http.get(f"{emulator.mc_rest_url}data/v1/async/x/status", verify=http.verify)
    assert mc.status_code == 429 and mc.headers["Retry-After"] == "2" and "errorcode" in mc.json()
    core = http.get(f"{emulator.base_url}/services/data/v59.0/query", verify=http.verify)
    assert core.status_code == 500 and core.json()[0]["errorCode"] == "UNKNOWN_EXCEPTION"
