from __future__ import annotations

import logging

import pytest

from cdp.errors import CdpError
from cdp.salesforce.marketing_cloud import MarketingCloudClient
from cdp.salesforce.sales_cloud import SalesCloudClient
from cdp.salesforce.secrets import redact
from cdp.sandbox.salesforce import Emulator


def test_secrets_never_reach_logs_or_errors(
    sales: SalesCloudClient,
    mc: MarketingCloudClient,
    emulator: Emulator,
    sf_env: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[str] = []
    # Retries (logged), re-authentication (logged) and failures (raised) on both surfaces.
    emulator.faults.error(r"/describe", status=503, times=1)
    emulator.faults.expire_tokens(r"GET .*/query", times=1)
    sales.describe("Contact")
    list(sales.query_pages("SELECT Id FROM Lead ORDER BY SystemModstamp, Id"))
    emulator.faults.throttle(r"POST /mc-rest/", retry_after=0.01, times=1)
    mc.fire_event("APIEvent-ev9-interest", "c-secret", {"uid": "u"})
    for bad in (lambda: sales.describe("Nope"), lambda: mc.fire_event("nope", "c", {"uid": "u"})):
        try:
            bad()
        except CdpError as err:
            errors.append(str(err))

    tokens = [t for t in emulator.state.tokens]
    secrets = [*sf_env.values(), *tokens]
    haystack = caplog.text + "\n".join(errors)
    assert "retrying" in caplog.text and len(errors) == 2
    for secret in secrets:
        if len(secret) >= 6 and secret != sf_env["CDP_MC_CLIENT_ID"]:
            assert secret not in haystack
    for line in sf_env["CDP_SF_PRIVATE_KEY"].splitlines()[1:-1]:
        assert line not in haystack


def test_redact_masks_registered_values(sales: SalesCloudClient) -> None:
    sales.describe("Contact")  # registers the consumer secret and the access token
    token = sales.sf.session_id
    assert redact(f"Authorization: Bearer {token}") == "Authorization: Bearer ***"
    assert "sandbox-consumer-secret" not in redact("client_secret=sandbox-consumer-secret")
