"""libvirtd for the tests: started (or found running) by the project's own script.

``scripts/start-libvirt.sh`` does what a service manager and udev would (/dev/kvm as
root:kvm 0660 before libvirtd starts, virtlogd, libvirtd in a mount namespace without the
hybrid cgroup2 mount so libvirt LXC works) and waits until ``qemu:///system`` answers. It
is idempotent and serialised by a lock, so every test module may call it.
"""

from __future__ import annotations

from tests.support.daemons import REPO_ROOT, run_start_script

START_SCRIPT = REPO_ROOT / "scripts" / "start-libvirt.sh"


def ensure_libvirtd() -> None:
    """Make sure libvirtd (and virtlogd) run here; raise RuntimeError saying why not."""
    run_start_script(
        START_SCRIPT, logs="/var/log/libvirt/libvirtd.log", needs="root and the libvirt packages"
    )
