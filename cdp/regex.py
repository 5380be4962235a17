"""Regular expressions as the warehouses run them: RE2, the engine of BigQuery and DuckDB alike.

Spec and config patterns are checked, and the reference implementations match, with RE2 itself:
Python's `re` accepts lookarounds and backreferences that both warehouses reject.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import re2

# Errors are reported as ours (one line naming the file and field), not printed by absl.
_QUIET = re2.Options()
_QUIET.log_errors = False


@lru_cache(maxsize=256)  # the reference evaluators match one pattern against many rows
def compile_re2(pattern: str) -> Any:
    """The compiled pattern; ValueError with RE2's reason if the warehouses would reject it."""
    try:
        return re2.compile(pattern, options=_QUIET)
    except re2.error as err:
        reason = err.args[0] if err.args else err
        text = reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
        raise ValueError(f"not a valid RE2 regular expression: {pattern!r} ({text})") from err
