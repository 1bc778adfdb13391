"""Running a host tool for a driver: an argument list (never a shell string), its output
captured, and a failure raised as a DriverError whose reason is the tool's own last word."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence

from cloudenv.errors import DriverError

__all__ = ["run_or_fail"]


def run_or_fail(
    command: Sequence[str],
    what: str,
    *,
    timeout: float,
    explained: Mapping[str, str] | None = None,
) -> str:
    """Run ``command`` and return its standard output. A non-zero exit: DriverError
    "<what> failed: <reason>.", the reason being the last line the tool wrote, or the
    sentence ``explained`` gives for a text found in its error output (a reason a person
    can act on instead of the tool's)."""
    done = subprocess.run(
        list(command), capture_output=True, text=True, check=False, timeout=timeout
    )
    if done.returncode == 0:
        return done.stdout
    said = (done.stderr or done.stdout).strip().splitlines()
    reason = said[-1] if said else f"exit status {done.returncode}"
    for text, sentence in (explained or {}).items():
        if text in done.stderr:
            reason = sentence
            break
    raise DriverError(f"{what} failed: {reason}.")
