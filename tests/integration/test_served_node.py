"""A node set up and served by the real commands: ``cloudenv init`` and ``cloudenv serve`` run
as subprocesses in a temporary data dir, on a free loopback port, and are reached over HTTPS
with httpx and with the CLI as a client. Nothing here runs in-process: these tests prove what
an operator following the README gets (TLS, signals, restarts, PostgreSQL)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console
from sqlalchemy import select

from cloudenv.config import TLSPaths
from cloudenv.services.access import SYSTEM
from cloudenv.services.tasks import TaskKind, TaskStatus, queue_task
from cloudenv.store.engine import make_engine, make_session_factory, transaction
from cloudenv.store.tables import Organization
from cloudenv.tls import (
    CertificateFiles,
    certificate_fingerprint,
    client_ssl_context,
    ensure_node_certificates,
)
from tests.support.pgserver import create_database
from tests.support.served_node import (
    ADMIN_PASSWORD,
    HEALTH_PATH,
    STOP_TIMEOUT,
    NodeDir,
    Server,
    hermetic_env,
    init_args,
    init_node,
    output_of,
    run_cli,
    serving,
)

pytestmark = pytest.mark.integration


# Helpers (starting, serving and stopping a node: tests/support/served_node.py) -------------------


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_fresh_deployment(server: Server) -> None:
    """The tree of a node just set up by ``init --organization acme``, over the real API."""
    with server.admin() as admin:
        response = admin.get("/api/v1/organizations")
        assert response.status_code == 200, response.text
        assert response.content.lstrip().startswith(b"[")  # a bare array, no envelope
        trees = response.json()
        assert isinstance(trees, list) and len(trees) == 1
        tree = trees[0]
        assert tree["organization"]["name"] == "acme"
        assert len(tree["datacenters"]) == 1
        assert len(tree["clusters"]) == 1 and tree["clusters"][0]["node_count"] == 1
        assert len(tree["nodes"]) == 1
        node_id = tree["nodes"][0]["id"]
        assert node_id == server.health["id"] == server.node.settings.node_id

        detail = admin.get(f"/api/v1/nodes/{node_id}")
        assert detail.status_code == 200, detail.text
        node_time = detail.json()["time"]
        assert type(node_time["time"]) is int and type(node_time["uptime"]) is int
        assert node_time["time"] > 0

        hardware = admin.get(f"/api/v1/nodes/{node_id}/hardware")
        assert hardware.status_code == 200, hardware.text
        vcpus = hardware.json()["vcpus"]
        assert type(vcpus) is int and vcpus == os.cpu_count()


# Fixtures ----------------------------------------------------------------------------------------
#
# Class-scoped: each class below is one unit of work for ``make test`` (xdist, --dist
# loadscope), run on one worker with its node; the two classes run side by side.


@pytest.fixture(scope="class")
def node_dir(tmp_path_factory: pytest.TempPathFactory) -> NodeDir:
    """A data dir set up once; tests that serve it stop their daemon before they end."""
    return init_node(tmp_path_factory.mktemp("node"))


@pytest.fixture(scope="class")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A second node, served for a whole class (CLI, TLS and events tests)."""
    with serving(init_node(tmp_path_factory.mktemp("served"))) as server:
        yield server


@pytest.fixture(scope="class")
def cli_login(
    served: Server, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, str], subprocess.CompletedProcess[str]]:
    """``cloudenv login`` once against the served node, in a private config dir."""
    env = hermetic_env(tmp_path_factory.mktemp("cli-home"))
    result = run_cli(
        ["login", "--url", served.url, "--yes", "--password-stdin"], env, ADMIN_PASSWORD + "\n"
    )
    return env, result


@pytest.fixture
def cli_env(cli_login: tuple[dict[str, str], subprocess.CompletedProcess[str]]) -> dict[str, str]:
    env, result = cli_login
    assert result.returncode == 0, result.stdout + result.stderr
    return env


WRONG_FINGERPRINT = ":".join(["AB"] * 32)


# PostgreSQL --------------------------------------------------------------------------------------


def test_scripted_run_on_postgresql(postgres_admin_url: str, tmp_path: Path) -> None:
    """The same scripted run with ``init --database-url`` on a fresh PostgreSQL database:
    the daemon serves the same tree from it, and no SQLite file is made."""
    node = init_node(tmp_path / "pg-node", database_url=create_database(postgres_admin_url))
    assert node.settings.database_url == node.database_url
    assert not (node.path / "cloudenv.db").exists()
    with serving(node) as server:
        assert_fresh_deployment(server)


def _seed_certificates(data_dir: Path, *, emoji_like: bool) -> str:
    """Write node certificates into ``data_dir/tls`` before ``init`` (which keeps a complete
    set) whose server fingerprint does, or does not, hold a rich emoji code such as ``:AB:``;
    returns that fingerprint."""
    paths = TLSPaths.in_dir(data_dir)
    files = CertificateFiles(paths.ca_cert, paths.ca_key, paths.server_cert, paths.server_key)
    for _ in range(500):
        for path in (files.ca_cert, files.ca_key, files.server_cert, files.server_key):
            path.unlink(missing_ok=True)
        ensure_node_certificates(files, ["localhost"], ["127.0.0.1"])
        fingerprint = certificate_fingerprint(files.server_cert.read_bytes())
        rendered = io.StringIO()
        Console(file=rendered, width=500, color_system=None).print(fingerprint, soft_wrap=True)
        if (rendered.getvalue().strip() != fingerprint) == emoji_like:
            return fingerprint
    raise AssertionError("no certificate of the wanted kind in 500 tries")


@pytest.mark.parametrize(
    "emoji_like",
    [
        pytest.param(False, id="plain"),
        pytest.param(True, id="emoji-code"),
    ],
)
def test_init_prints_the_served_certificate_fingerprint(tmp_path: Path, emoji_like: bool) -> None:
    """What ``cloudenv init`` prints as the certificate fingerprint is, character for
    character, the SHA-256 fingerprint of the certificate the node serves, whatever hex
    pairs it holds (about one node in nine has a pair rich would turn into an emoji)."""
    expected = _seed_certificates(tmp_path / "node" / "data", emoji_like=emoji_like)
    node = init_node(tmp_path / "node")
    assert node.printed_fingerprint == expected


# The scripted run, and the node's lifecycle: signals, restart, re-init -------------------


class TestOneDataDir:
    """Serving ``node_dir`` in turn (two daemons can't serve one data dir):
    the scripted run, signals, a restart, init again."""

    def test_scripted_run_serves_the_initialized_tree(self, node_dir: NodeDir) -> None:
        """init with flags, serve, login: the organizations tree holds exactly the root org with
        its default datacenter, cluster and this node (the healthcheck's ID), and the node's
        detail and hardware carry the wire types the product's clients decode."""
        with serving(node_dir) as server:
            assert server.health["healthy"] is True
            assert_fresh_deployment(server)

    @pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
    def test_signal_shuts_the_daemon_down_gracefully(
        self, node_dir: NodeDir, sig: signal.Signals
    ) -> None:
        """SIGTERM (systemd's stop) and SIGINT (Ctrl-C) end the daemon within STOP_TIMEOUT after
        a complete lifespan shutdown (the agent stopped), with exit code 0."""
        with serving(node_dir) as server:
            server.process.send_signal(sig)
            try:
                code = server.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pytest.fail(f"cloudenv serve still runs {STOP_TIMEOUT:.0f} s after {sig.name}")
            log = server.log()
            assert "Application shutdown complete" in log, log
            assert "Traceback" not in log, log
            assert code == 0, log

    def test_sigterm_ends_open_streams_and_idle_connections(self, node_dir: NodeDir) -> None:
        """SIGTERM while a client holds an events stream (no timeout) and another an idle
        keep-alive connection still ends the daemon within STOP_TIMEOUT, after a complete lifespan
        shutdown, and the stream's reader sees its stream end."""
        with serving(node_dir) as server, server.admin() as watcher, server.admin() as idle:
            assert idle.get("/api/v1/auth/me").status_code == 200  # leaves a pooled connection
            connected = threading.Event()
            ended: list[str] = []

            def read_stream() -> None:
                try:
                    with watcher.stream("GET", "/api/v1/events", timeout=30.0) as stream:
                        for line in stream.iter_lines():
                            if line == ": connected":
                                connected.set()
                    ended.append("closed")
                except httpx.TransportError as exc:
                    ended.append(type(exc).__name__)

            reader = threading.Thread(target=read_stream, daemon=True)
            reader.start()
            assert connected.wait(10.0), "the events stream never said ': connected'"
            server.process.send_signal(signal.SIGTERM)
            try:
                server.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pytest.fail(f"cloudenv serve still runs {STOP_TIMEOUT:.0f} s after SIGTERM")
            reader.join(10.0)
            assert ended, "the events stream outlived the daemon"
            assert "Application shutdown complete" in server.log(), server.log()

    def test_restart_fails_tasks_left_running(self, node_dir: NodeDir) -> None:
        """A task a stopped daemon left 'running' cannot be trusted: the next ``serve`` marks it
        failed with a message saying the daemon stopped while it ran."""
        settings = node_dir.settings
        engine = make_engine(settings.database_url)
        try:
            with transaction(make_session_factory(engine)) as db:
                root_org_id = db.scalars(select(Organization.id).where(Organization.is_root)).one()
                task = queue_task(
                    db,
                    SYSTEM,
                    TaskKind.NODE_REFRESH_FACTS,
                    node_id=settings.node_id,
                    target_id=settings.node_id,
                    organization_id=root_org_id,
                    path=(),
                )
                db.flush()
                task.status = TaskStatus.RUNNING.value
                task.start_time = task.creation
                task_id = task.id
        finally:
            engine.dispose()

        with serving(node_dir) as server, server.admin() as admin:
            response = admin.get(f"/api/v1/tasks/{task_id}")
            assert response.status_code == 200, response.text
            body = response.json()
        assert body["status"] == "failed"
        assert "stopped while" in body["message"], body

    def test_init_again_refuses_and_changes_nothing(self, node_dir: NodeDir) -> None:
        """A second ``cloudenv init`` on an initialized data dir exits non-zero, says it is
        already initialized, and leaves config.json and the database byte-identical."""
        files = [node_dir.path / "config.json", node_dir.path / "cloudenv.db"]
        before = [sha256_of(f) for f in files]
        password_file = node_dir.path.parent / "pwfile"
        result = run_cli(
            init_args(node_dir.path, password_file, organization="other"), node_dir.env
        )
        assert result.returncode != 0
        assert "already initialized" in output_of(result)
        assert [sha256_of(f) for f in files] == before


# Clients: the API, the CLI, TLS, events -----------------------------------------------------------


class TestServedNode:
    """Clients of the ``served`` node: login, the CLI, TLS, events."""

    def test_login_answers_a_token_for_the_administrator(self, served: Server) -> None:
        """POST /auth/login over HTTPS answers {token, expires_in, user} for pceadmin and the token
        opens the protected API, which refuses a caller without one."""
        with served.client() as client:
            assert client.get("/api/v1/organizations").status_code == 401
            response = client.post(
                "/api/v1/auth/login", json={"username": "pceadmin", "password": ADMIN_PASSWORD}
            )
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["token"] and body["expires_in"] > 0
            assert body["user"]["username"] == "pceadmin"
            me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['token']}"})
            assert me.status_code == 200 and me.json()["username"] == "pceadmin"

    def test_cli_login_saves_a_private_session(
        self, served: Server, cli_login: tuple[dict[str, str], subprocess.CompletedProcess[str]]
    ) -> None:
        """``cloudenv login --yes --password-stdin`` signs in, writes login.json mode 0600 with the
        URL and token, and pins a certificate that verifies the node."""
        env, result = cli_login
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Signed in" in output_of(result)
        login_file = Path(env["CLOUDENV_CONFIG_DIR"]) / "login.json"
        assert login_file.stat().st_mode & 0o777 == 0o600
        saved = json.loads(login_file.read_text())
        assert saved["url"] == served.url and saved["username"] == "pceadmin" and saved["token"]
        pinned = Path(saved["cert_file"])
        assert pinned.is_file()
        response = httpx.get(served.url + HEALTH_PATH, verify=client_ssl_context(pinned))
        assert response.status_code == 200

    def test_cli_org_list_prints_the_tree(self, served: Server, cli_env: dict[str, str]) -> None:
        """``cloudenv org list --json`` prints the organizations tree the API serves."""
        result = run_cli(["org", "list", "--json"], cli_env)
        assert result.returncode == 0, result.stderr
        trees = json.loads(result.stdout)
        assert [t["organization"]["name"] for t in trees] == ["acme"]
        assert [n["id"] for n in trees[0]["nodes"]] == [served.health["id"]]

    def test_cli_datacenter_create_list_delete(
        self, served: Server, cli_env: dict[str, str]
    ) -> None:
        """``datacenter create`` with a location, ``list`` shows it with that location, and
        ``delete --yes`` removes it."""
        trees = json.loads(run_cli(["org", "list", "--json"], cli_env).stdout)
        org_id = trees[0]["organization"]["id"]
        created = run_cli(
            [
                "datacenter",
                "create",
                "dc-two",
                "--organization",
                org_id,
                "--latitude",
                "52.5",
                "--longitude",
                "13.4",
                "--json",
            ],
            cli_env,
        )
        assert created.returncode == 0, created.stderr
        dc_id = json.loads(created.stdout)["id"]
        try:
            listed = run_cli(["datacenter", "list", "--json"], cli_env)
            assert listed.returncode == 0, listed.stderr
            rows = {row["id"]: row for row in json.loads(listed.stdout)}
            assert rows[dc_id]["name"] == "dc-two"
            assert rows[dc_id]["organization_id"] == org_id
            assert rows[dc_id]["location"] == {"latitude": 52.5, "longitude": 13.4}

            deleted = run_cli(["datacenter", "delete", dc_id, "--yes"], cli_env)
            assert deleted.returncode == 0, deleted.stderr
            after = json.loads(run_cli(["datacenter", "list", "--json"], cli_env).stdout)
            assert dc_id not in {row["id"] for row in after}
        finally:
            with served.admin() as admin:
                admin.delete(f"/api/v1/datacenters/{dc_id}")  # 404 when the test got that far

    def test_cli_node_refresh_runs_a_task_through_the_agent(
        self, served: Server, cli_env: dict[str, str]
    ) -> None:
        """``cloudenv node refresh`` queues a facts refresh that the daemon's agent runs to
        success: the CLI exits 0 and the node's task list holds the succeeded task."""
        node_id = served.health["id"]
        result = run_cli(["node", "refresh", node_id], cli_env)
        assert result.returncode == 0, result.stdout + result.stderr
        match = re.search(r"Task (task-\S+) succeeded", output_of(result))
        assert match, output_of(result)
        with served.admin() as admin:
            task = admin.get(f"/api/v1/tasks/{match.group(1)}").json()
        assert task["status"] == "succeeded" and task["progress"] == 100
        assert task["kind"] == TaskKind.NODE_REFRESH_FACTS.value and task["log"]

    def test_cli_login_with_the_node_fingerprint_succeeds(
        self, served: Server, tmp_path: Path
    ) -> None:
        """The fingerprint of the certificate the node serves (what ``cloudenv init`` prints) is
        the one ``login --fingerprint`` accepts, so an operator can check the node out of band
        and sign in without --yes."""
        env = hermetic_env(tmp_path / "home")
        fingerprint = certificate_fingerprint(served.node.settings.tls.server_cert.read_bytes())
        result = run_cli(
            [
                "login",
                "--url",
                served.url,
                "--fingerprint",
                fingerprint,
                "--password-stdin",
            ],
            env,
            ADMIN_PASSWORD + "\n",
        )
        assert result.returncode == 0, output_of(result)
        assert (Path(env["CLOUDENV_CONFIG_DIR"]) / "login.json").is_file()

    def test_cli_login_refuses_a_wrong_fingerprint(self, served: Server, tmp_path: Path) -> None:
        """On first contact, ``login --fingerprint`` with a value the node's certificate does not
        have fails, says it is refusing, and saves neither a session nor the certificate."""
        env = hermetic_env(tmp_path / "home")
        result = run_cli(
            ["login", "--url", served.url, "--fingerprint", WRONG_FINGERPRINT, "--password-stdin"],
            env,
            ADMIN_PASSWORD + "\n",
        )
        assert result.returncode != 0
        assert "refusing" in output_of(result)
        config = Path(env["CLOUDENV_CONFIG_DIR"])
        assert not (config / "login.json").exists()
        assert not list(config.glob("servers/*.pem"))

    def test_cli_login_refuses_a_wrong_fingerprint_for_a_pinned_node(
        self, served: Server, tmp_path: Path
    ) -> None:
        """``--fingerprint`` is checked even when the node's certificate is already pinned."""
        env = hermetic_env(tmp_path / "home")
        first = run_cli(
            ["login", "--url", served.url, "--yes", "--password-stdin"], env, ADMIN_PASSWORD + "\n"
        )
        assert first.returncode == 0, output_of(first)
        result = run_cli(
            ["login", "--url", served.url, "--fingerprint", WRONG_FINGERPRINT, "--password-stdin"],
            env,
            ADMIN_PASSWORD + "\n",
        )
        assert result.returncode != 0 and "refusing" in output_of(result)

    def test_plain_http_gets_no_http_answer(self, served: Server) -> None:
        """The API port speaks only TLS: a plain-HTTP request gets no HTTP response at all (the
        connection fails or closes), and the daemon keeps serving HTTPS afterwards."""
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{served.port}{HEALTH_PATH}", timeout=5.0)
        with served.client() as client:
            assert client.get(HEALTH_PATH).status_code == 200

    def test_a_client_trusting_another_ca_is_rejected(self, served: Server, tmp_path: Path) -> None:
        """Certificate verification is real: a client pinned to a different CA, or using the
        system trust store, fails the handshake."""
        tls = tmp_path / "other-tls"
        files = CertificateFiles(
            tls / "ca.pem", tls / "ca.key", tls / "server.pem", tls / "server.key"
        )
        ensure_node_certificates(files, ["localhost"], ["127.0.0.1"])
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(served.url + HEALTH_PATH, verify=client_ssl_context(files.ca_cert))
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(served.url + HEALTH_PATH)

    def test_show_ca_prints_the_node_ca(self, served: Server, tmp_path: Path) -> None:
        """``cloudenv show-ca`` prints DIR/tls/ca.pem verbatim, and that PEM verifies the node."""
        result = run_cli(["show-ca", "--data-dir", str(served.node.path)], served.node.env)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("-----BEGIN CERTIFICATE-----")
        assert result.stdout == served.node.ca.read_text()
        printed = tmp_path / "printed-ca.pem"
        printed.write_text(result.stdout)
        response = httpx.get(served.url + HEALTH_PATH, verify=client_ssl_context(printed))
        assert response.status_code == 200

    def test_events_stream_shows_a_created_datacenter(self, served: Server) -> None:
        """``GET /events`` as a live SSE stream over TLS delivers ``datacenter.created`` with the
        new datacenter's ID when another client creates one."""
        with served.admin() as watcher, served.admin() as actor:
            org_id = actor.get("/api/v1/organizations").json()[0]["organization"]["id"]
            dc_id: str | None = None
            seen: list[dict[str, Any]] = []
            try:
                with watcher.stream("GET", "/api/v1/events", params={"timeout": 5}) as stream:
                    assert stream.status_code == 200
                    assert stream.headers["content-type"].startswith("text/event-stream")
                    kind = None
                    for line in stream.iter_lines():
                        if line == ": connected" and dc_id is None:
                            created = actor.post(
                                "/api/v1/datacenters",
                                json={"name": "dc-events", "organization_id": org_id},
                            )
                            assert created.status_code == 200, created.text
                            dc_id = created.json()["id"]
                        elif line.startswith("event: "):
                            kind = line.removeprefix("event: ")
                        elif line.startswith("data: ") and kind == "datacenter.created":
                            seen.append(json.loads(line.removeprefix("data: ")))
                            if seen[-1]["target_id"] == dc_id:
                                break
            finally:
                if dc_id is not None:
                    actor.delete(f"/api/v1/datacenters/{dc_id}")
        assert dc_id is not None, "the stream never said ': connected'"
        assert [e["target_id"] for e in seen] == [dc_id]
        assert seen[0]["kind"] == "datacenter.created" and seen[0]["organization_id"] == org_id
