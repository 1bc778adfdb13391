"""Starting the host's daemons for the tests with the project's own scripts.

``scripts/start-libvirt.sh`` and ``scripts/start-ovs.sh`` do what a service manager (and
udev) would; both are idempotent and serialised by a lock, so every test module may call
them. This runs one and turns a failure into a RuntimeError that says where to look.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
#: The scripts wait up to 120 s for their lock and 30 s for the daemon to answer.
START_TIMEOUT = 180


def run_start_script(script: Path, *, logs: str, needs: str) -> None:
    """Run ``script``; RuntimeError naming ``logs`` (where to look when it hangs) and
    ``needs`` (what it requires) when it fails."""
    name = script.relative_to(REPO_ROOT)
    try:
        done = subprocess.run(
            ["bash", str(script)],
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"{name} did not finish within {START_TIMEOUT} s; see {logs}") from None
    if done.returncode != 0:
        output = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()
        raise RuntimeError(
            f"{name} failed (exit {done.returncode}): "
            + " | ".join(output[-5:])
            + f" (it needs {needs}: scripts/install-system-deps.sh)"
        )
