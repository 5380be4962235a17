"""`python -m cdp.delivery --db cdp.duckdb --destinations destinations.yaml --run-id R`

A thin runner over `deliver` for a DuckDB file (the lead's CLI and flow wire the real thing).
Salesforce endpoints come from `--base-url` / `--ca-bundle` (default: the local emulator);
secrets come from the environment as always. Prints the report as JSON.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from cdp.backends.duckdb import DuckDBBackend
from cdp.delivery import build_clients, deliver, load_destinations
from cdp.errors import CdpError
from cdp.salesforce.settings import EMULATOR_URL, SalesforceSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cdp.delivery")
    parser.add_argument("--db", required=True)
    parser.add_argument("--destinations", required=True)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--base-url", default=EMULATOR_URL)
    parser.add_argument("--ca-bundle", default=".cdp/sandbox/ca.pem")
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--backoff", type=float, default=1.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        dests = load_destinations(args.destinations)
        settings = SalesforceSettings(
            base_url=args.base_url, ca_bundle=args.ca_bundle, requests_per_minute=None,
            backoff_seconds=args.backoff, max_backoff_seconds=max(args.backoff, 1.0),
        )  # fmt: skip
        with DuckDBBackend(args.db) as backend:
            report = deliver(
                backend,
                dests,
                build_clients(settings, dests),
                run_id=args.run_id,
                dry_run=args.dry_run,
            )
    except CdpError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(json.dumps(report.to_dict(), default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
