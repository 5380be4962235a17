"""Shared task plumbing: which failures are worth a Prefect retry."""

from __future__ import annotations

from typing import Any

from cdp.errors import TransientError


def retry_only_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Retry a task only when it failed with a TransientError (throttling, 5xx, timeouts).

    Terminal errors (bad config, bad input, a refused request) fail at once: retrying would only
    repeat them and delay the report.
    """
    try:
        state.result()
    except TransientError:
        return True
    except Exception:
        return False
    return False
