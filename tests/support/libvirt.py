"""libvirtd for the tests: started (or found running) by the project's own script.

``scripts/start-libvirt.sh`` does what a service manager and udev would (/dev/kvm as
root:kvm 0660 before libvirtd starts, virtlogd, libvirtd in a mount namespace without the
hybrid cgroup2 mount so libvirt LXC works) and waits until ``qemu:///system`` answers. It
is idempotent and serialised by a lock, so every test module may call it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
START_SCRIPT = REPO_ROOT / "scripts" / "start-libvirt.sh"
# The script waits up to 120 s for its lock and 30 s for libvirtd to answer.
START_TIMEOUT = 180


def ensure_libvirtd() -> None:
    """Make sure libvirtd (and virtlogd) run here; raise RuntimeError saying why not."""
    try:
        done = subprocess.run(
            ["bash", str(START_SCRIPT)],
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(
            f"{START_SCRIPT.relative_to(REPO_ROOT)} did not finish within {START_TIMEOUT} s; "
            "see /var/log/libvirt/libvirtd.log"
        ) from None
    if done.returncode != 0:
        output = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()
        raise RuntimeError(
            f"{START_SCRIPT.relative_to(REPO_ROOT)} failed (exit {done.returncode}): "
            + " | ".join(output[-5:])
            + " (it needs root and the libvirt packages: scripts/install-system-deps.sh)"
        )
