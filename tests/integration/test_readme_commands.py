"""Every non-make command of README.md, run as a reader would: the unattended password line
and ``cloudenv init`` with the README's INIT_FLAGS, ``cloudenv serve``, then each
``.venv/bin/cloudenv`` command in order against the served node (the interactive login in
a pseudo-terminal, answering its questions; the VM commands on the test guest's ISO, named
debian.iso as in the README). Placeholders (``org-...``, ``cls-...``, ``node-...``,
``inst-...``, ``pool-...``, ``vol-...``, port 5007, and the pool's path /srv/cloudenv/fast,
which becomes a directory QEMU can reach under the test nodes' root) become the real
values; nothing else is changed. The make targets are dry-run by
tests/unit/test_readme.py."""

from __future__ import annotations

import contextlib
import os
import pty
import secrets
import select
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.guest.build import build_guest
from tests.readme import CLI_PREFIX, kind_of, readme_commands
from tests.support.compute import REAL_NODES_ROOT, _forget_libvirt_pools, wait_marker
from tests.support.console import cli_console
from tests.support.libvirt import ensure_libvirtd
from tests.support.served_node import (
    CLI_TIMEOUT,
    NodeDir,
    Server,
    cloudenv_command,
    hermetic_env,
    output_of,
    serving,
)

pytestmark = pytest.mark.integration

#: The README's pool path; the test gives the pool a directory of its own instead.
POOL_PATH = "/srv/cloudenv/fast"


def _pool_gone(api: httpx.Client, cluster_id: str, pool_id: str, timeout: float = 60) -> bool:
    """Whether propagation removed the pool marked for destruction (its row goes last)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listed = api.get(f"/api/v1/clusters/{cluster_id}/storage_pools").json()
        if pool_id not in {p["id"] for p in listed}:
            return True
        time.sleep(0.5)
    return False


def _in_pty(args: list[str], env: dict[str, str], answers: list[tuple[str, str]]) -> str:
    """Run ``args`` with a pseudo-terminal as its controlling terminal (as in a shell), typing
    each answer once its prompt appears; returns what it printed."""
    pid, leader = pty.fork()
    if pid == 0:  # the child: exec the command, never return into pytest
        try:
            os.execve(args[0], args, env)  # noqa: S606 - an argument list, no shell
        finally:
            os._exit(127)
    seen, pending, deadline = b"", list(answers), time.monotonic() + CLI_TIMEOUT
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(leader, 4096)
                except OSError:  # the child closed the terminal: it exited
                    break
                if not chunk:
                    break
                seen += chunk
            if pending and pending[0][0].encode() in seen:
                time.sleep(0.5)  # a hidden prompt flushes what was typed before it was ready
                os.write(leader, pending.pop(0)[1].encode() + b"\n")
        else:
            pytest.fail(f"{args[1]} did not finish; it printed: {seen.decode(errors='replace')}")
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, seen.decode(errors="replace")
    finally:
        os.close(leader)
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG) == (0, 0):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
    return seen.decode(errors="replace")


@pytest.fixture
def base() -> Iterator[Path]:
    """A directory QEMU can reach (pytest's temporary directories are 0700)."""
    ensure_libvirtd()
    REAL_NODES_ROOT.mkdir(parents=True, exist_ok=True)
    path = REAL_NODES_ROOT / f"readme-{secrets.token_hex(4)}"
    path.mkdir(mode=0o755)
    try:
        yield path
    finally:
        _forget_libvirt_pools(path)
        shutil.rmtree(path, ignore_errors=True)


def _init_as_the_readme_says(base: Path, env: dict[str, str]) -> NodeDir:
    commands = readme_commands()
    password_file, data_dir = base / "pw", base / "data"
    (echo,) = [c for c in commands if kind_of(c) == "password"]
    subprocess.run(["sh", "-c", echo.replace("/root/pw", str(password_file))], check=True)
    (make_run,) = [c for c in commands if c.startswith("make run INIT_FLAGS=")]
    flags = shlex.split(shlex.split(make_run)[2].removeprefix("INIT_FLAGS="))
    flags = [str(password_file) if f == "/root/pw" else f for f in flags]
    # What `make run` runs on first start (its recipe is checked by tests/unit/test_readme.py).
    result = subprocess.run(
        [*cloudenv_command(), "init", "--data-dir", str(data_dir), *flags],
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return NodeDir(data_dir, env, output_of(result))


def _run(command: str, server: Server, values: dict[str, str], cwd: Path, stdin: str = "") -> str:
    args = shlex.split(command.removeprefix(CLI_PREFIX))
    args = [values.get(a, a.replace(":5007", f":{server.port}")) for a in args]
    result = subprocess.run(
        [*cloudenv_command(), *args],
        env=server.node.env,
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        start_new_session=True,
    )
    assert result.returncode == 0, (command, result.stdout + result.stderr)
    return result.stdout


def _console(command: str, server: Server, values: dict[str, str]) -> str:
    """The console command: type a line in the guest's shell, wait for its output, then
    Ctrl-] to leave."""
    wait_marker(values["inst-..."], timeout=120)
    args = [values.get(a, a) for a in shlex.split(command.removeprefix(CLI_PREFIX))]
    return cli_console(
        [*cloudenv_command(), *args],
        server.node.env,
        b"echo README-$((40 + 2))\n",
        b"README-42",
        timeout=CLI_TIMEOUT,
    )


def test_every_readme_command_runs(base: Path) -> None:
    env = hermetic_env(base / "home")
    node = _init_as_the_readme_says(base, env)
    (base / "work").mkdir()
    shutil.copy(build_guest().iso, base / "work" / "debian.iso")
    password = (base / "pw").read_text().strip()
    with serving(node) as server, server.client() as api:
        token = api.post(
            "/api/v1/auth/login", json={"username": "pceadmin", "password": password}
        ).json()["token"]
        api.headers["Authorization"] = f"Bearer {token}"
        tree = api.get("/api/v1/organizations").json()[0]
        node_id = server.health["id"]
        pool_dir = REAL_NODES_ROOT / f"readme-pool-{secrets.token_hex(4)}"
        values = {
            "org-...": tree["organization"]["id"],
            "node-...": node_id,
            "cls-...": api.get(f"/api/v1/nodes/{node_id}").json()["node"]["cluster_id"],
            POOL_PATH: str(pool_dir),
        }
        ran = []
        try:
            for command in (c for c in readme_commands() if kind_of(c) == "cloudenv"):
                verb = shlex.split(command.removeprefix(CLI_PREFIX))[:2]
                if verb[0] == "login":
                    url = command.removeprefix(CLI_PREFIX).replace(":5007", f":{server.port}")
                    out = _in_pty(
                        [*cloudenv_command(), *shlex.split(url)],
                        env,
                        [("Trust this certificate?", "y"), ("Password", password)],
                    )
                    assert "Signed in" in out, out
                elif verb == ["instance", "console"]:
                    assert "README-42" in _console(command, server, values)
                elif verb == ["instance", "destroy"]:
                    _run(command, server, values, base / "work", stdin="DESTROY\n")
                    assert api.get("/api/v1/instances/" + values["inst-..."]).status_code == 404
                elif verb == ["volume", "destroy"]:
                    _run(command, server, values, base / "work", stdin="DESTROY\n")
                    assert api.get("/api/v1/volumes/" + values["vol-..."]).status_code == 404
                elif verb == ["pool", "destroy"]:
                    _run(command, server, values, base / "work", stdin="DESTROY\n")
                    assert _pool_gone(api, values["cls-..."], values["pool-..."])
                else:
                    out = _run(command, server, values, base / "work")
                    if verb == ["instance", "deploy"]:
                        listed = api.get(
                            "/api/v1/instances", params={"node_id": values["node-..."]}
                        ).json()
                        values["inst-..."] = next(i["id"] for i in listed if i["name"] == "web-1")
                    if verb == ["datacenter", "create"]:
                        assert "Created datacenter dc-" in out, out
                    if verb == ["pool", "create"]:
                        pools = api.get(f"/api/v1/clusters/{values['cls-...']}/storage_pools")
                        values["pool-..."] = next(
                            p["id"] for p in pools.json() if p["name"] == "fast"
                        )
                    if verb == ["pool", "enable"]:
                        assert (
                            api.get("/api/v1/storage_pools/" + values["pool-..."]).json()["status"]
                            == "ok"
                        )
                    if verb == ["volume", "create"]:
                        listed = api.get("/api/v1/volumes", params={"node_id": node_id}).json()
                        values["vol-..."] = next(v["id"] for v in listed if v["name"] == "data-1")
                    if verb == ["volume", "resize"]:
                        assert api.get("/api/v1/volumes/" + values["vol-..."]).json()["size"] == 15
                    if verb == ["node", "top"]:  # sampled by now: a row with its CPU
                        assert "Nodes" in out and "% of " in out, out
                    if verb == ["instance", "top"]:  # web-1 is destroyed by then
                        assert "Running instances (0)" in out, out
                    if verb == ["license", "set"]:
                        shown = api.get(f"/api/v1/nodes/{node_id}/license").json()
                        assert shown["valid"] is True, shown
                    if verb == ["license", "show"]:
                        assert "valid" in out, out
                        licensing = api.get(f"/api/v1/clusters/{values['cls-...']}/licensing")
                        assert licensing.json()["cluster"]["status"] == "valid", licensing.text
                ran.append(" ".join(verb))
        finally:
            if "inst-..." in values and "instance destroy" not in ran:
                instance = values["inst-..."]
                api.post(f"/api/v1/instances/{instance}/power", json={"action": "kill"})
                time.sleep(3)
                api.delete(f"/api/v1/instances/{instance}?confirm=DESTROY&destroy_volumes=true")
                time.sleep(3)
            if "vol-..." in values and "volume destroy" not in ran:
                api.delete("/api/v1/volumes/" + values["vol-..."])
            if "pool-..." in values and "pool destroy" not in ran:
                time.sleep(3)  # the volume's destroy task first
                api.delete("/api/v1/storage_pools/" + values["pool-..."])
                _pool_gone(api, values["cls-..."], values["pool-..."])
            shutil.rmtree(pool_dir, ignore_errors=True)
    assert ran == [
        "login --url",
        "org list",
        "datacenter create",
        "node show",
        "image upload",
        "instance deploy",
        "instance console",
        "instance stop",
        "instance destroy",
        "pool create",
        "pool enable",
        "volume create",
        "volume resize",
        "volume destroy",
        "pool destroy",
        "license keygen",
        "license trust",
        "license issue",
        "license set",
        "license show",
        "node top",
        "instance top",
    ]
