"""Serving the emulator over real HTTPS on loopback, with a throwaway CA from `trustme`.

    with run_emulator() as emu:
        emu.base_url        # https://127.0.0.1:<port>  (Sales Cloud login + instance)
        emu.mc_auth_url     # <base>/mc-auth/           (Marketing Cloud auth host)
        emu.mc_rest_url     # <base>/mc-rest/           (returned as rest_instance_url)
        emu.ca_bundle       # PEM file clients pass as requests' verify=
        emu.state, emu.faults

Clients trust the server through `ca_bundle`; nothing here needs verify=False.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import trustme
import uvicorn
from fastapi import FastAPI

from cdp.sandbox.salesforce.bulk import bulk_router
from cdp.sandbox.salesforce.demo import DemoOrg, demo_uids, seed_demo_org
from cdp.sandbox.salesforce.faults import FaultPlan
from cdp.sandbox.salesforce.marketing_cloud import mc_auth_router, mc_rest_router
from cdp.sandbox.salesforce.middleware import FaultMiddleware
from cdp.sandbox.salesforce.responses import install_handlers
from cdp.sandbox.salesforce.sales_cloud import sales_cloud_router
from cdp.sandbox.salesforce.state import EmulatorState

#: Credentials the emulator accepts by default, and the env vars `serve_forever` tells you to set.
SANDBOX_ENV = {
    "CDP_SF_CONSUMER_SECRET": "sandbox-consumer-secret",
    "CDP_MC_CLIENT_ID": "cdp-sandbox-mc-client",
    "CDP_MC_CLIENT_SECRET": "sandbox-mc-secret",
}


def build_app(state: EmulatorState, faults: FaultPlan) -> FaultMiddleware:
    app = FastAPI(title="Salesforce emulator", docs_url=None, redoc_url=None, openapi_url=None)
    install_handlers(app)
    app.include_router(sales_cloud_router(state, faults))
    app.include_router(bulk_router(state, faults))
    app.include_router(mc_auth_router(state), prefix="/mc-auth")
    app.include_router(mc_rest_router(state, faults), prefix="/mc-rest")
    return FaultMiddleware(app, state, faults)


@dataclass
class Emulator:
    state: EmulatorState
    faults: FaultPlan
    host: str
    port: int
    ca_bundle: Path
    _server: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    @property
    def base_url(self) -> str:
        return f"https://{self.host}:{self.port}"

    @property
    def sales_login_url(self) -> str:
        return self.base_url

    @property
    def mc_auth_url(self) -> str:
        return f"{self.base_url}/mc-auth/"

    @property
    def mc_rest_url(self) -> str:
        return f"{self.base_url}/mc-rest/"

    def stop(self) -> None:
        self._server.should_exit = True
        self._server.force_exit = True  # do not wait for idle keep-alive connections
        self._thread.join(timeout=5)


def _write_certs(cert_dir: Path, host: str) -> tuple[Path, Path, Path]:
    ca = trustme.CA()
    names = sorted({host, "127.0.0.1", "localhost"})
    server_cert = ca.issue_cert(*names)
    cert_dir.mkdir(parents=True, exist_ok=True)
    ca_path, chain_path, key_path = (
        cert_dir / "ca.pem",
        cert_dir / "server.pem",
        cert_dir / "server.key",
    )
    ca.cert_pem.write_to_path(str(ca_path))
    server_cert.private_key_pem.write_to_path(str(key_path))
    chain_path.write_bytes(b"".join(blob.bytes() for blob in server_cert.cert_chain_pems))
    os.chmod(key_path, 0o600)
    return ca_path, chain_path, key_path


def start_emulator(
    state: EmulatorState | None = None,
    faults: FaultPlan | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    cert_dir: Path | str | None = None,
) -> Emulator:
    """Start serving in a daemon thread; returns once the server accepts connections."""
    state = state or EmulatorState()
    faults = faults or FaultPlan()
    directory = Path(cert_dir) if cert_dir else Path(tempfile.mkdtemp(prefix="sf-emulator-"))
    ca_path, chain_path, key_path = _write_certs(directory, host)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    if not state.credentials.jwt_audience:
        state.credentials.jwt_audience = f"https://{host}:{bound_port}"
    config = uvicorn.Config(
        build_app(state, faults), ssl_certfile=str(chain_path), ssl_keyfile=str(key_path),
        http="h11", lifespan="off", log_level="warning", access_log=False, timeout_graceful_shutdown=1,
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="sf-emulator", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("Salesforce emulator did not start")
        time.sleep(0.01)
    return Emulator(state, faults, host, bound_port, ca_path, server, thread)


@contextmanager
def run_emulator(
    state: EmulatorState | None = None,
    faults: FaultPlan | None = None,
    **kwargs: object,
) -> Iterator[Emulator]:
    emulator = start_emulator(state, faults, **kwargs)  # type: ignore[arg-type]
    try:
        yield emulator
    finally:
        emulator.stop()


def serve_forever(
    host: str = "127.0.0.1",
    port: int = 8443,
    *,
    uids: list[str] | None = None,
    seed: int = 0,
    cert_dir: Path | str = ".cdp/sandbox",
) -> None:
    """Run a seeded demo org until interrupted (`cdp sandbox salesforce`)."""
    state = EmulatorState()
    demo: DemoOrg = seed_demo_org(state, uids or demo_uids(), seed)
    emulator = start_emulator(state, host=host, port=port, cert_dir=cert_dir)
    print(
        f"Salesforce emulator (demo org: {demo.contacts} contacts, {demo.leads} leads, campaign {demo.campaign_id})"
    )
    print(f"  Sales Cloud login/instance : {emulator.sales_login_url}")
    print(f"  Marketing Cloud auth       : {emulator.mc_auth_url}")
    print(f"  Marketing Cloud REST       : {emulator.mc_rest_url}")
    print(f"  CA bundle (requests verify): {emulator.ca_bundle.resolve()}")
    print("  Sandbox credentials for the default settings:")
    for name, value in SANDBOX_ENV.items():
        print(f"    export {name}={value}")
    try:
        while emulator._thread.is_alive():
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
