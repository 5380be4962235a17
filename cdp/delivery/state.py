"""Recording outcomes: `delivery_state`, `sync_log` and `dead_letters`, changed together.

Each batch's outcomes are loaded into scratch tables, then applied in one transaction
(delete the touched state rows, insert their new versions, append the log and dead
letters), so a process killed at any point leaves the warehouse at a batch boundary.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import pyarrow as pa

from cdp.backends.base import Backend
from cdp.delivery import tables as t

Status = Literal["sent", "removed", "exited", "skipped", "failed", "retry", "pending", "uncertain"]
PlanRow = Mapping[str, Any]

_TOUCHED = "delivery__touched"
_LOG = "delivery__log"
_DEAD = "delivery__dead"


@dataclass(frozen=True)
class Outcome:
    """What happened to one plan row. `failed` is a rejection of the row or of its request
    (counts toward dead-lettering); `retry` a request-level transient failure (does not)."""

    status: Status
    error_code: str | None = None
    error_message: str | None = None
    remote_id: str | None = None
    owned: bool | None = None


@dataclass
class Tally:
    sent: int = 0
    removed: int = 0
    failed: int = 0
    dead: int = 0
    retry: int = 0
    uncertain: int = 0
    skipped: int = 0

    def add(self, other: Tally) -> None:
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))


class Recorder:
    def __init__(
        self,
        backend: Backend,
        destination: str,
        run_id: str,
        max_attempts: int,
        *,
        journey: bool = False,
    ):
        self.backend, self.destination, self.run_id = backend, destination, run_id
        self.max_attempts, self.journey = max_attempts, journey

    def apply(
        self,
        rows: Sequence[PlanRow],
        outcomes: Sequence[Outcome],
        payloads: Sequence[Mapping[str, Any] | None] | None = None,
    ) -> Tally:
        """Apply one batch; `payloads` (optional) are stored in dead letters."""
        now = datetime.now(UTC)
        tally = Tally()
        state: list[dict[str, Any]] = []
        touched: list[str] = []
        log: list[dict[str, Any]] = []
        dead: list[dict[str, Any]] = []
        for i, (row, out) in enumerate(zip(rows, outcomes, strict=True)):
            key, op = row["_cdp_key"], row["_cdp_op"]
            prev_attempts = int(row.get("_cdp_attempts") or 0)
            same_payload = op == "remove" or row.get("_cdp_prev_hash") == row["_cdp_hash"]
            # A dead row comes back only as a new operation (its removal, a new payload).
            again = same_payload and row.get("_cdp_status") != "dead"
            attempt = (prev_attempts if again else 0) + 1
            base = {
                "destination": self.destination, "key": key, "payload_hash": row["_cdp_hash"],
                "remote_id": out.remote_id or row.get("_cdp_remote_id"),
                "owned": out.owned if out.owned is not None else row.get("_cdp_owned"),
                "attempts": 0, "last_error": None, "first_sent_at": row.get("_cdp_first_sent_at"),
                "last_sent_at": None, "updated_at": now, "run_id": self.run_id,
            }  # fmt: skip
            log_status: str = out.status
            if out.status == "sent":
                base |= {"status": "sent", "last_sent_at": now}
                base["first_sent_at"] = base["first_sent_at"] or now
                state.append(base)
                tally.sent += 1
            elif out.status == "exited":
                base |= {
                    "status": "exited",
                    "last_sent_at": now,
                    "payload_hash": row.get("_cdp_prev_hash"),
                }
                state.append(base)
                tally.removed += 1
            elif out.status in ("removed", "skipped"):
                tally.removed += out.status == "removed"
                tally.skipped += out.status == "skipped"
            elif out.status == "pending":
                state.append(base | {"status": "pending", "attempts": prev_attempts})
                touched.append(key)
                continue  # intent only: no log line until the outcome is known
            elif out.status == "retry":
                tally.retry += 1
                attempt = prev_attempts + 1
                if self.journey:  # the event was recorded pending; it was definitely not queued
                    state.append(base | {"status": "failed", "attempts": prev_attempts,
                                         "last_error": out.error_message})  # fmt: skip
                else:
                    log.append(self._log(key, op, "retry", out, attempt, now))
                    continue  # state unchanged: the diff offers the row again next run
            elif out.status == "uncertain":
                tally.uncertain += 1
                state.append(base | {"status": "uncertain", "last_error": out.error_message})
                dead.append(
                    self._dead(key, op, out, attempt, now, payloads[i] if payloads else None)
                )
            else:  # failed
                is_dead = attempt >= self.max_attempts
                log_status = "dead" if is_dead else "failed"
                # A removal given up on is not offered again: see tables.py.
                status = "stuck" if is_dead and op == "remove" else log_status
                if op == "remove":
                    base["payload_hash"] = row.get("_cdp_prev_hash")
                state.append(base | {"status": status, "attempts": attempt,
                                     "last_error": _err(out)})  # fmt: skip
                tally.failed += 1
                if is_dead:
                    tally.dead += 1
                    dead.append(
                        self._dead(key, op, out, attempt, now, payloads[i] if payloads else None)
                    )
            touched.append(key)
            log.append(self._log(key, op, log_status, out, attempt, now))
        self._write(touched, state, log, dead)
        return tally

    def _log(
        self, key: str, op: str, status: str, out: Outcome, attempt: int, now: datetime
    ) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "destination": self.destination, "key": key, "operation": op,
            "status": status, "error_code": out.error_code,
            "error_message": (out.error_message or None) and out.error_message[:1000],
            "attempt": attempt, "logged_at": now,
        }  # fmt: skip

    def _dead(
        self,
        key: str,
        op: str,
        out: Outcome,
        attempt: int,
        now: datetime,
        payload: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "destination": self.destination, "key": key, "operation": op,
            "payload": json.dumps(payload, default=str) if payload is not None else None,
            "error_code": out.error_code, "error_message": out.error_message, "attempts": attempt,
            "dead_at": now,
        }  # fmt: skip

    def _write(
        self,
        touched: list[str],
        state: list[dict[str, Any]],
        log: list[dict[str, Any]],
        dead: list[dict[str, Any]],
    ) -> None:
        statements: list[str] = []
        if touched:
            self.backend.load_arrow(
                _TOUCHED, pa.table({"key": pa.array(touched, pa.string())}), mode="replace"
            )
            statements.append(
                f"DELETE FROM {t.STATE} WHERE destination = @destination "
                f"AND key IN (SELECT key FROM {_TOUCHED})"
            )
        for rows, scratch, target, schema in (
            (state, t.OUTCOMES, t.STATE, t.STATE_SCHEMA),
            (log, _LOG, t.SYNC_LOG, t.SYNC_LOG_SCHEMA),
            (dead, _DEAD, t.DEAD_LETTERS, t.DEAD_LETTERS_SCHEMA),
        ):
            if rows:
                self.backend.load_arrow(scratch, pa.Table.from_pylist(rows, schema), mode="replace")
                cols = ", ".join(schema.names)
                statements.append(f"INSERT INTO {target} ({cols}) SELECT {cols} FROM {scratch}")
        if statements:
            self.backend.atomic(statements, {"destination": self.destination})


def _err(out: Outcome) -> str | None:
    if not out.error_code and not out.error_message:
        return None
    return f"{out.error_code or ''}: {out.error_message or ''}"[:1000]


def mark_pending_uncertain(backend: Backend, destination: str, run_id: str) -> int:
    """Journey resume policy: events left `pending` by an interrupted run may have entered the
    journey (SFMC cannot be asked), so they become `uncertain`, are dead-lettered for review
    and are never re-fired automatically (`release_uncertain` re-arms them)."""
    params = {"destination": destination, "run_id": run_id}
    n = backend.scalar(
        f"SELECT COUNT(*) FROM {t.STATE} WHERE destination = @destination AND status = 'pending'",
        params,
    )
    if not n:
        return 0
    message = "'interrupted run: the event may have entered the journey; not re-fired'"
    backend.atomic(
        [
            f"INSERT INTO {t.DEAD_LETTERS} (run_id, destination, key, operation, payload, error_code, "
            f"error_message, attempts, dead_at) SELECT @run_id, destination, key, 'add', NULL, "
            f"'UNCERTAIN_DELIVERY', {message}, attempts + 1, CURRENT_TIMESTAMP() FROM {t.STATE} "
            f"WHERE destination = @destination AND status = 'pending'",
            f"INSERT INTO {t.SYNC_LOG} (run_id, destination, key, operation, status, error_code, "
            f"error_message, attempt, logged_at) SELECT @run_id, destination, key, 'add', 'uncertain', "
            f"'UNCERTAIN_DELIVERY', {message}, attempts + 1, CURRENT_TIMESTAMP() FROM {t.STATE} "
            f"WHERE destination = @destination AND status = 'pending'",
            f"UPDATE {t.STATE} SET status = 'uncertain', updated_at = CURRENT_TIMESTAMP() "
            f"WHERE destination = @destination AND status = 'pending'",
        ],
        params,
    )
    return int(n)


def release_uncertain(
    backend: Backend, destination: str, keys: Sequence[str] | None = None
) -> None:
    """Operator action after checking Journey Builder: re-arm uncertain events (next run fires
    them). Without `keys`, every uncertain event of the destination."""
    params: dict[str, Any] = {"destination": destination}
    where = "destination = @destination AND status = 'uncertain'"
    if keys is not None:
        backend.load_arrow(
            _TOUCHED, pa.table({"key": pa.array(list(keys), pa.string())}), mode="replace"
        )
        where += f" AND key IN (SELECT key FROM {_TOUCHED})"
    backend.execute(f"UPDATE {t.STATE} SET status = 'failed' WHERE {where}", params)
