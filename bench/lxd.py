"""LXD as the peer a container deploy is measured against: Debian's ``lxd`` 5.0 started by
hand (no systemd here, RUNTIME.md §10), a ``dir`` storage pool, the busybox root
filesystem imported as an image, and ``lxc launch`` timed to Running.

An LXD already running is used as it is and left running; one started here is shut down
at the end. Every instance and image made here is deleted.
"""

from __future__ import annotations

import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

PRESEED = """config: {}
storage_pools:
- {name: default, driver: dir}
profiles:
- name: default
  devices: {root: {path: /, pool: default, type: disk}}
"""
METADATA = (
    "architecture: x86_64\ncreation_date: 1767225600\n"
    'properties:\n  os: busybox\n  release: "1.35"\n'
)
LOG_DIR = Path("/var/log/lxd")


class LxdUnavailable(RuntimeError):
    """LXD can't run here; the message says why (printed by the benchmark)."""


def _run(*args: str, timeout: float = 120, stdin: str | None = None) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, input=stdin)
    if done.returncode != 0:
        raise LxdUnavailable(f"{' '.join(args)} failed: {(done.stderr or done.stdout).strip()}")
    return done.stdout


class Lxd:
    def __init__(self) -> None:
        self.started: subprocess.Popen[bytes] | None = None
        self.images: list[str] = []

    def __enter__(self) -> Lxd:
        if subprocess.run(["lxc", "info"], capture_output=True, timeout=30).returncode != 0:
            LOG_DIR.mkdir(parents=True, exist_ok=True)
            with (LOG_DIR / "lxd.stdout").open("ab") as out:
                self.started = subprocess.Popen(
                    ["lxd", "--group", "lxd", "--logfile", str(LOG_DIR / "lxd.log")],
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            _run("lxd", "waitready", "--timeout", "60", timeout=90)
        if subprocess.run(["lxc", "storage", "show", "default"], capture_output=True).returncode:
            _run("lxd", "init", "--preseed", stdin=PRESEED)
        return self

    def __exit__(self, *_: object) -> None:
        for alias in self.images:
            subprocess.run(["lxc", "image", "delete", alias], capture_output=True, timeout=60)
        if self.started is not None:
            subprocess.run(["lxd", "shutdown"], capture_output=True, timeout=120)
            self.started.wait(30)

    def import_rootfs(self, root: Path, alias: str) -> None:
        """``root`` (a directory) as an LXD image: a metadata tarball and a rootfs one."""
        with tempfile.TemporaryDirectory() as work:
            meta, rootfs = Path(work) / "meta.tar.gz", Path(work) / "rootfs.tar.gz"
            (Path(work) / "metadata.yaml").write_text(METADATA)
            with tarfile.open(meta, "w:gz") as tar:
                tar.add(Path(work) / "metadata.yaml", arcname="metadata.yaml")
            with tarfile.open(rootfs, "w:gz") as tar:
                tar.add(root, arcname=".")
            _run("lxc", "image", "import", str(meta), str(rootfs), "--alias", alias)
        self.images.append(alias)

    def launch(self, image: str, name: str) -> float:
        """Seconds from ``lxc launch`` to its return (the container is Running then)."""
        start = time.monotonic()
        _run("lxc", "launch", image, name, "--quiet")
        took = time.monotonic() - start
        state = _run("lxc", "list", name, "--format", "csv", "--columns", "s").strip()
        if state != "RUNNING":
            raise LxdUnavailable(f"lxc launch returned but {name} is {state!r}")
        return took

    def delete(self, name: str) -> None:
        subprocess.run(["lxc", "delete", "-f", name], capture_output=True, timeout=120)
