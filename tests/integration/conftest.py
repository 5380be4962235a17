"""Integration fixtures: one HTTPS Salesforce emulator per session, real clients pointed at it.

emulator       the running Emulator (state, faults, base_url, ca_bundle); faults are
               cleared after every test
sf_settings    SalesforceSettings aimed at the emulator, fast retries, env secrets set
sales / mc     SalesCloudClient / MarketingCloudClient on those settings
sleeps         the list of back-off pauses the clients' RetryPolicy took
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from cdp.salesforce.http import RetryPolicy
from cdp.salesforce.marketing_cloud import MarketingCloudClient
from cdp.salesforce.sales_cloud import SalesCloudClient
from cdp.salesforce.settings import SalesCloudSettings, SalesforceSettings
from cdp.sandbox.salesforce import Emulator, EmulatorState, run_emulator, seed_demo_org
from cdp.sandbox.salesforce.demo import DemoOrg, demo_uids
from cdp.sandbox.salesforce.server import SANDBOX_ENV

CONSUMER_KEY = "cdp-sandbox-consumer-key"


def _pem_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


@pytest.fixture(scope="session")
def rsa_private_key() -> str:
    return _KEYS[0]


_KEYS = _pem_pair()


@pytest.fixture(scope="session")
def unknown_private_key() -> str:
    """A key the emulator has never seen (JWTs it signs must be refused)."""
    return _pem_pair()[0]


@pytest.fixture(scope="session")
def demo_state() -> tuple[EmulatorState, DemoOrg]:
    state = EmulatorState()
    demo = seed_demo_org(state, demo_uids(120), seed=7)
    state.credentials.jwt_public_keys[CONSUMER_KEY] = _KEYS[1]
    return state, demo


@pytest.fixture(scope="session")
def emulator(demo_state: tuple[EmulatorState, DemoOrg]) -> Iterator[Emulator]:
    with run_emulator(demo_state[0]) as emu:
        yield emu


@pytest.fixture(scope="session")
def demo(demo_state: tuple[EmulatorState, DemoOrg]) -> DemoOrg:
    return demo_state[1]


@pytest.fixture(autouse=True)
def _clean_faults(emulator: Emulator) -> Iterator[None]:
    config = emulator.state.config
    saved = (config.query_page_size, config.mc_token_lifetime_s)
    yield
    emulator.faults.clear()
    config.query_page_size, config.mc_token_lifetime_s = saved


@pytest.fixture
def sf_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = dict(SANDBOX_ENV, CDP_SF_PRIVATE_KEY=_KEYS[0])
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def sf_settings(emulator: Emulator, sf_env: dict[str, str]) -> SalesforceSettings:
    return SalesforceSettings(
        base_url=emulator.base_url,
        ca_bundle=str(emulator.ca_bundle),
        requests_per_minute=None,
        read_timeout=5,
        sales_cloud=SalesCloudSettings(bulk_poll_seconds=0.02),
    )


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def policy(sleeps: list[float]) -> RetryPolicy:
    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        time.sleep(seconds)

    return RetryPolicy(max_attempts=4, backoff=0.01, max_backoff=0.1, sleep=sleep)


@pytest.fixture
def sales(sf_settings: SalesforceSettings, policy: RetryPolicy) -> SalesCloudClient:
    return SalesCloudClient(sf_settings, policy=policy)


@pytest.fixture
def mc(sf_settings: SalesforceSettings, policy: RetryPolicy) -> MarketingCloudClient:
    return MarketingCloudClient(
        sf_settings, policy=policy, poll_sleep=lambda s: time.sleep(min(s, 0.02))
    )
