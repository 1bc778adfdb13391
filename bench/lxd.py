"""LXD as the peer for bench/deploy.py's container figure: Debian's LXD 5.0 (packages
``lxd`` and ``lxd-client``) started by hand, as there is no systemd here (RUNTIME.md §10),
a directory storage pool preseeded when LXD has none, the bench's busybox rootfs tarball
(the very file cloudenv imports) imported as an LXD image, and ``lxc launch`` timed until
LXD reports the container Running; also the same two requests through LXD's REST API on
its unix socket, without the CLI's process start, for an API-to-API figure.

It leaves LXD as it found it: the containers and the image it made are deleted, and a
daemon it started is shut down again. It installs nothing; when LXD can't run,
:class:`LxdUnavailable` says exactly why, so the bench can print that next to cloudenv's
figures. The preseed and the image metadata are written as JSON, which is YAML too.
"""

from __future__ import annotations

import io
import json
import platform
import shutil
import subprocess
import tarfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

SOCKET = Path("/var/lib/lxd/unix.socket")
LOG_DIR = Path("/var/log/lxd")
ALIAS = "cloudenv-bench-busybox"
POOL = "default"
START_TIMEOUT = 60  # seconds for a daemon started here to be ready (RUNTIME.md §10: 0.13 s)
STOP_TIMEOUT = 120  # seconds for ``lxd shutdown`` (5.6 s measured, longer with containers)
COMMAND_TIMEOUT = 120  # seconds for one ``lxc`` command
RUNNING_TIMEOUT = 60.0  # seconds for a launched container to be reported Running
POLL = 0.01  # seconds between state reads: the same grain as cloudenv's side
INSTALL = "apt-get install -y --no-install-recommends lxd lxd-client"
PRESEED = {
    "config": {},
    "storage_pools": [{"name": POOL, "driver": "dir"}],
    "profiles": [
        {"name": "default", "devices": {"root": {"path": "/", "pool": POOL, "type": "disk"}}}
    ],
}


class LxdUnavailable(RuntimeError):
    """LXD can't run here; the message says why and, when known, what would fix it."""


@dataclass
class LxdPeer:
    """A ready LXD with the busybox image imported as :data:`ALIAS`."""

    api: httpx.Client  # the REST API on the daemon's unix socket

    def launch(self, name: str, *, memory_mb: int, vcpus: int) -> float:
        """Seconds from running ``lxc launch`` to LXD reporting ``name`` Running, with the
        same limits cloudenv's container gets."""
        start = time.monotonic()
        _lxc(
            "launch", ALIAS, name,
            "--config", f"limits.memory={memory_mb}MiB", "--config", f"limits.cpu={vcpus}",
        )  # fmt: skip
        self._wait_running(name, start)
        return time.monotonic() - start

    def create_started(self, name: str, *, memory_mb: int, vcpus: int) -> float:
        """Seconds from ``POST /1.0/instances`` then ``PUT …/state`` ``start`` (the two
        requests ``lxc launch`` makes; LXD 5.0 has no create-and-start in one) to LXD
        reporting ``name`` Running: LXD's API without its CLI's process start."""
        start = time.monotonic()
        body = {
            "name": name,
            "type": "container",
            "source": {"type": "image", "alias": ALIAS},
            "config": {"limits.memory": f"{memory_mb}MiB", "limits.cpu": str(vcpus)},
        }
        self._wait_operation(self.api.post("/1.0/instances", json=body), f"create {name}")
        started = self.api.put(f"/1.0/instances/{name}/state", json={"action": "start"})
        self._wait_operation(started, f"start {name}")
        self._wait_running(name, start)
        return time.monotonic() - start

    def delete(self, name: str) -> None:
        """Remove ``name`` whatever its state (``lxc delete -f``)."""
        _lxc("delete", "--force", name)

    def _wait_operation(self, response: httpx.Response, what: str) -> None:
        """Wait for the background operation ``response`` started; LxdUnavailable with
        LXD's error if it failed."""
        operation = _metadata(response)
        waited = self.api.get(
            f"/1.0/operations/{operation['id']}/wait",
            params={"timeout": int(RUNNING_TIMEOUT)},
            timeout=RUNNING_TIMEOUT + 5,
        )
        outcome = _metadata(waited)
        if outcome.get("status") != "Success":
            raise LxdUnavailable(f"LXD could not {what}: {outcome.get('err')}")

    def _wait_running(self, name: str, start: float) -> None:
        while time.monotonic() - start < RUNNING_TIMEOUT:
            state = _metadata(self.api.get(f"/1.0/instances/{name}/state"))
            if state.get("status") == "Running":
                return
            time.sleep(POLL)
        raise LxdUnavailable(f"LXD container {name} not Running within {RUNNING_TIMEOUT} s")


@contextmanager
def lxd_peer(rootfs_tarball: Path, workdir: Path) -> Iterator[LxdPeer]:
    """LXD running and initialised, with ``rootfs_tarball`` imported as :data:`ALIAS`;
    the image is deleted after, and LXD shut down if it was started here."""
    for program in ("lxd", "lxc"):
        if shutil.which(program) is None:
            raise LxdUnavailable(f"`{program}` is not installed ({INSTALL})")
    api = httpx.Client(
        transport=httpx.HTTPTransport(uds=str(SOCKET)), base_url="http://lxd", timeout=30.0
    )
    daemon = None if _answers(api) else _start_daemon()
    try:
        _ensure_initialised(api)
        _import_image(api, rootfs_tarball, workdir)
        try:
            yield LxdPeer(api)
        finally:
            _lxc("image", "delete", ALIAS)
    finally:
        api.close()
        if daemon is not None:
            _stop_daemon(daemon)


# The daemon ------------------------------------------------------------------------------


def _answers(api: httpx.Client) -> bool:
    try:
        return api.get("/1.0").status_code == 200
    except httpx.TransportError:
        return False


def _start_daemon() -> subprocess.Popen[bytes]:
    """``lxd`` in a session of its own (what ``setsid nohup`` does), logging under
    :data:`LOG_DIR`; LxdUnavailable with the log's last lines when it isn't ready in time."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = LOG_DIR / "lxd.log"
    with (LOG_DIR / "lxd.stdout").open("wb") as output:
        daemon = subprocess.Popen(
            ["lxd", "--group", "lxd", "--logfile", str(log)],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    ready = subprocess.run(
        ["lxd", "waitready", "--timeout", str(START_TIMEOUT)],
        capture_output=True,
        text=True,
        check=False,
    )
    if ready.returncode != 0 or daemon.poll() is not None:
        _stop_daemon(daemon)
        tail = log.read_text(errors="replace").splitlines()[-5:] if log.exists() else []
        raise LxdUnavailable(
            f"lxd did not become ready within {START_TIMEOUT} s "
            f"(exit {daemon.poll()}): {ready.stderr.strip()} | " + " | ".join(tail)
        )
    return daemon


def _stop_daemon(daemon: subprocess.Popen[bytes]) -> None:
    """``lxd shutdown`` (it stops the containers first), then make sure the process we
    started is gone."""
    if daemon.poll() is None:
        subprocess.run(
            ["lxd", "shutdown", "--timeout", str(STOP_TIMEOUT)],
            capture_output=True,
            check=False,
            timeout=STOP_TIMEOUT + 10,
        )
    try:
        daemon.wait(timeout=10)
    except subprocess.TimeoutExpired:
        daemon.terminate()
        daemon.wait(timeout=10)


def _ensure_initialised(api: httpx.Client) -> None:
    """A fresh LXD has no storage pool: preseed a directory pool and a default profile
    with its root disk there, and no network (no ``lxdbr0``: the bench needs none)."""
    if _metadata(api.get("/1.0/storage-pools")):
        devices = _metadata(api.get("/1.0/profiles/default")).get("devices", {})
        if not any(d.get("type") == "disk" and d.get("path") == "/" for d in devices.values()):
            raise LxdUnavailable(
                "LXD here has storage pools but its default profile has no root disk; "
                "add one (lxc profile device add default root disk path=/ pool=POOL)"
            )
        return
    done = subprocess.run(
        ["lxd", "init", "--preseed"],
        input=json.dumps(PRESEED),
        capture_output=True,
        text=True,
        check=False,
        timeout=COMMAND_TIMEOUT,
    )
    if done.returncode != 0:
        raise LxdUnavailable(f"lxd init --preseed failed: {done.stderr.strip()}")


# The image -------------------------------------------------------------------------------


def _import_image(api: httpx.Client, rootfs_tarball: Path, workdir: Path) -> None:
    """``rootfs_tarball`` with a metadata tarball, as an LXD split image named
    :data:`ALIAS` (replacing one a killed run left)."""
    if api.get(f"/1.0/images/aliases/{ALIAS}").status_code == 200:
        _lxc("image", "delete", ALIAS)
    metadata = workdir / "lxd-metadata.tar.gz"
    metadata.write_bytes(_metadata_tarball())
    _lxc("image", "import", str(metadata), str(rootfs_tarball), "--alias", ALIAS)


def _metadata_tarball() -> bytes:
    """``metadata.yaml`` alone in a gzip tarball: the architecture LXD checks and the
    properties ``lxc image list`` shows. Fixed values, so the image's fingerprint is too."""
    text = json.dumps(
        {
            "architecture": platform.machine(),
            "creation_date": 1_767_225_600,
            "properties": {"os": "busybox", "description": "cloudenv bench busybox"},
        }
    ).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("metadata.yaml")
        info.size, info.mode, info.mtime = len(text), 0o644, 1_767_225_600
        tar.addfile(info, io.BytesIO(text))
    return buffer.getvalue()


# Helpers ---------------------------------------------------------------------------------


def _lxc(*args: str) -> None:
    """One ``lxc`` command that must succeed; LxdUnavailable with its own words if not."""
    done = subprocess.run(
        ["lxc", *args], capture_output=True, text=True, check=False, timeout=COMMAND_TIMEOUT
    )
    if done.returncode != 0:
        raise LxdUnavailable(f"lxc {' '.join(args)} failed: {done.stderr.strip()}")


def _metadata(response: httpx.Response) -> Any:
    """The ``metadata`` of an LXD reply; LxdUnavailable with LXD's error if it failed."""
    body = response.json()
    if body.get("type") == "error":
        raise LxdUnavailable(f"LXD {response.request.url.path}: {body.get('error')}")
    return body.get("metadata")
