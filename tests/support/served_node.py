"""A real node run as subprocesses: ``cloudenv init`` into a data dir, then ``cloudenv serve``
on a free loopback port, reached over HTTPS.

Shared by the integration tests (``tests/integration/test_served_node.py``) and the API latency
benchmark (``bench/api_latency.py``), which must both set a node up exactly as an operator
following the README does: the installed commands with the installer's flags, nothing
in-process. Failures raise :class:`ServedNodeError` with the command's output or the daemon's
log, so a failing fixture shows why and the benchmark can print it and exit.

Nothing here imports pytest, so the benchmark can use it as a plain script.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from cloudenv.config import Settings
from cloudenv.tls import client_ssl_context

ADMIN_PASSWORD = "Sup3r-Secret-Pw!"
"""The password of ``pceadmin`` on every node the tests and the benchmark set up."""

HEALTH_PATH = "/api/v1/healthcheck"
START_TIMEOUT = 90.0  # seconds for a started daemon to answer its healthcheck (a busy host is slow)
STOP_TIMEOUT = 15.0  # seconds for a signalled daemon to exit
CLI_TIMEOUT = 60.0  # seconds for one CLI command (init, login, ...)
SERVE_ATTEMPTS = 3  # a free port can be taken between probing it and the daemon binding it
FINGERPRINT = re.compile(r"fingerprint: ((?:[0-9A-F]{2}:){31}[0-9A-F]{2})")


class ServedNodeError(AssertionError):
    """``cloudenv init`` or ``cloudenv serve`` did not do what setting a node up needs.

    An AssertionError so that pytest reports it as a failed check of the test (or fixture)
    that asked for the node, with the output or log in the message."""


# Commands, environment, ports --------------------------------------------------------------------


def cloudenv_command() -> list[str]:
    """The venv's ``cloudenv`` script next to this interpreter, else ``python -m``: the command
    an operator runs, from the same install as the code under test."""
    script = Path(sys.executable).with_name("cloudenv")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "cloudenv.cli.main"]


def hermetic_env(home: Path) -> dict[str, str]:
    """This process's environment without any CLOUDENV_* setting, with HOME and the CLI's
    config dir inside ``home`` (created), and wide uncoloured output so messages are not
    wrapped: the subprocesses neither see nor touch the caller's settings or sign-ins."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDENV_")}
    home.mkdir(parents=True, exist_ok=True)
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        CLOUDENV_CONFIG_DIR=str(home / "cloudenv-config"),
        COLUMNS="250",
        NO_COLOR="1",
        TERM="dumb",
        PYTHONUNBUFFERED="1",
    )
    return env


def run_cli(
    args: Sequence[str], env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``cloudenv ARGS`` with ``env`` and ``stdin``; capture its text output, never raise
    on a non-zero exit (callers check the code), time out after CLI_TIMEOUT."""
    return subprocess.run(
        [*cloudenv_command(), *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )


def output_of(result: subprocess.CompletedProcess[str]) -> str:
    """stdout and stderr with whitespace runs collapsed (rich may still wrap long lines)."""
    return " ".join((result.stdout + result.stderr).split())


def free_port() -> int:
    """A loopback TCP port nothing listens on right now (it may be taken before it is used,
    which :func:`start_server` retries)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# A node's data dir -------------------------------------------------------------------------------


@dataclass
class NodeDir:
    """A data dir set up by ``cloudenv init``, with the environment its commands run in."""

    path: Path
    env: dict[str, str]
    init_output: str
    database_url: str | None = None

    @property
    def ca(self) -> Path:
        """The node's CA certificate, the one a client must trust."""
        return self.path / "tls" / "ca.pem"

    @property
    def settings(self) -> Settings:
        """The node's config.json as the daemon reads it."""
        return Settings.load(self.path)

    @property
    def printed_fingerprint(self) -> str:
        """The certificate fingerprint ``cloudenv init`` printed."""
        match = FINGERPRINT.search(self.init_output)
        if not match:
            raise ServedNodeError(f"cloudenv init printed no fingerprint:\n{self.init_output}")
        return match.group(1)


def init_args(data_dir: Path, password_file: Path, organization: str = "acme") -> list[str]:
    """``cloudenv init``'s arguments as the installer passes them (no prompts), plus
    ``--ignore-requirements``: tests set nodes up under pytest's private (0700) temporary
    directories, which QEMU's user can't reach; nodes that run guests use
    ``tests.support.compute.real_node_dir``, which it can."""
    return [
        "init",
        "--ignore-requirements",
        "--data-dir",
        str(data_dir),
        "--accept-eula",
        "--organization",
        organization,
        "--admin-password-file",
        str(password_file),
        "--management-ip",
        "127.0.0.1",
    ]


def init_node(base: Path, *, database_url: str | None = None) -> NodeDir:
    """Run ``cloudenv init`` with the installer's flags into ``base/data``, with ADMIN_PASSWORD
    in ``base/pwfile`` and a hermetic HOME in ``base/home``; on ``database_url`` (an empty
    PostgreSQL database) instead of the default SQLite file in the data dir."""
    base.mkdir(parents=True, exist_ok=True)
    env = hermetic_env(base / "home")
    password_file = base / "pwfile"
    password_file.write_text(ADMIN_PASSWORD + "\n")
    data_dir = base / "data"
    args = init_args(data_dir, password_file)
    if database_url:
        args += ["--database-url", database_url]
    result = run_cli(args, env)
    if result.returncode != 0:
        raise ServedNodeError(f"cloudenv init failed:\n{result.stdout}{result.stderr}")
    return NodeDir(data_dir, env, output_of(result), database_url)


# A serving daemon --------------------------------------------------------------------------------


@dataclass
class Server:
    """A running ``cloudenv serve`` subprocess and what its healthcheck said."""

    node: NodeDir
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    health: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def log(self) -> str:
        """What the daemon wrote so far (stdout and stderr)."""
        return self.log_path.read_text(errors="replace")

    def client(self, **kwargs: Any) -> httpx.Client:
        """A client that trusts only this node's CA."""
        kwargs.setdefault("timeout", 10.0)
        return httpx.Client(base_url=self.url, verify=client_ssl_context(self.node.ca), **kwargs)

    @contextmanager
    def admin(self) -> Iterator[httpx.Client]:
        """A client signed in as pceadmin with a bearer token, closed on exit."""
        with self.client() as client:
            response = client.post(
                "/api/v1/auth/login", json={"username": "pceadmin", "password": ADMIN_PASSWORD}
            )
            if response.status_code != 200:
                raise ServedNodeError(f"login answered {response.status_code}: {response.text}")
            client.headers["Authorization"] = f"Bearer {response.json()['token']}"
            yield client

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> int:
        """Send ``sig`` (SIGTERM: systemd's stop) unless it has exited, wait up to ``timeout``,
        kill it if it outlives that; returns its exit code. Safe to call again.

        Whatever is left of its session afterwards is killed too: API worker processes
        outlive a daemon that was SIGKILLed (as a crash test does), as they would under a
        service manager that does not kill the whole unit."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # its own group: start_new_session
        return int(self.process.returncode)


def _spawn(node: NodeDir, extra_args: Sequence[str]) -> Server:
    """``cloudenv serve`` on a free loopback port, its output in a fresh log file next to the
    data dir, in its own session so a Ctrl-C on the caller does not reach it."""
    log_path = node.path.parent / f"serve-{time.monotonic_ns()}.log"
    port = free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                *cloudenv_command(),
                "serve",
                "--data-dir",
                str(node.path),
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                *extra_args,
            ],
            env=node.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Server(node, port, process, log_path)


def _wait_healthy(server: Server, timeout: float) -> bool:
    """Poll the healthcheck until it answers 200 (kept in ``server.health``); False if the
    process died first; ServedNodeError if it neither answers nor dies within ``timeout``."""
    context = client_ssl_context(server.node.ca)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False
        try:
            response = httpx.get(server.url + HEALTH_PATH, verify=context, timeout=2.0)
        except httpx.TransportError:
            time.sleep(0.2)
            continue
        if response.status_code == 200:
            server.health = response.json()
            return True
        time.sleep(0.2)
    raise ServedNodeError(f"cloudenv serve did not answer in {timeout:.0f} s:\n{server.log()}")


def start_server(
    node: NodeDir, *, extra_args: Sequence[str] = (), start_timeout: float = START_TIMEOUT
) -> Server:
    """Start ``cloudenv serve [EXTRA_ARGS]`` for ``node`` on a free port and return it once its
    healthcheck answers; the caller stops it (:meth:`Server.stop`). Retries on another port
    when the one probed was taken meanwhile; a daemon that fails is stopped before raising."""
    attempt = 1
    while True:
        server = _spawn(node, extra_args)
        try:
            healthy = _wait_healthy(server, start_timeout)
        except BaseException:
            server.stop()
            raise
        if healthy:
            return server
        if attempt >= SERVE_ATTEMPTS or "address already in use" not in server.log().lower():
            raise ServedNodeError(f"cloudenv serve exited early:\n{server.log()}")
        attempt += 1


@contextmanager
def serving(
    node: NodeDir, *, extra_args: Sequence[str] = (), start_timeout: float = START_TIMEOUT
) -> Iterator[Server]:
    """Start ``cloudenv serve`` on a free port, yield once healthy, always stop it after."""
    server = start_server(node, extra_args=extra_args, start_timeout=start_timeout)
    try:
        yield server
    finally:
        server.stop()
