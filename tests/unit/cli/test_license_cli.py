"""``cloudenv license …`` against a node's API in-process: an operator's own issuer made
with keygen, trusted, a key issued with it (offline), set on the node and shown for the
node and its cluster; a refused key's reason; keys read from files or standard input,
never from arguments; and ``cloudenv init`` with an issuer and a key."""

from __future__ import annotations

import stat
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cloudenv import clock
from cloudenv.cli.main import app
from cloudenv.config import Settings
from cloudenv.services.licensing import keys
from cloudenv.store.engine import make_engine, make_session_factory, transaction
from cloudenv.store.tables import LicenseIssuer, Node, NodeLicense
from tests.conftest import ADMIN_PASSWORD, Deployment
from tests.unit.cli.test_init import _init, qemu_as_root
from tests.unit.cli.test_users_cli import cli

pytestmark = pytest.mark.unit
runner = CliRunner()
__all__ = ["cli", "qemu_as_root"]


def _run(*args: str, input: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, ["license", *args], input=input)
    return result.exit_code, result.output


def _words(out: str) -> str:
    """Output with rich's line wrapping undone."""
    return " ".join(out.split())


def _keygen(tmp_path: Path) -> tuple[Path, Path]:
    private = tmp_path / "issuer.pem"
    code, out = _run("keygen", str(private))
    assert code == 0, out
    return private, tmp_path / "issuer.pem.pub"


def test_keygen_trust_issue_set_show_round_trip(
    cli: TestClient, sqlite_deployment: Deployment, tmp_path: Path
) -> None:
    dep, node = sqlite_deployment, sqlite_deployment.setup.node_id
    private, public = _keygen(tmp_path)
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    line = public.read_text().strip()
    fingerprint = keys.fingerprint(keys.parse_public_key(line))
    code, out = _run("trust", str(public), "--name", "own")
    assert code == 0 and "Trusted license issuer issuer-" in out, out
    code, out = _run("issuers")
    assert "own" in out and fingerprint in out

    key_file = tmp_path / "node.key"
    code, out = _run(
        "issue", "--issuer-key", str(private), "--node", node, "--days", "90",
        "--feature", "support", "--out", str(key_file),
    )  # fmt: skip
    assert code == 0 and f"for {node}" in out, out
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip()
    assert keys.read_claims(key).features == ("support",)

    code, out = _run("set", node, str(key_file))
    assert code == 0 and "License key set on" in out and "valid" in out, out
    assert cli.get(f"/v1/nodes/{node}/license").json()["key"] == key
    code, out = _run("show", node)
    assert code == 0 and "valid" in out and "support" in out, out
    code, out = _run("show", dep.setup.cluster_id)
    assert code == 0 and node in out and "valid" in out, out
    assert key not in out  # the cluster's status names no keys


def test_a_key_is_read_from_standard_input_and_refusals_say_why(
    cli: TestClient, sqlite_deployment: Deployment, tmp_path: Path
) -> None:
    node = sqlite_deployment.setup.node_id
    private, public = _keygen(tmp_path)
    assert _run("trust", public.read_text().strip())[0] == 0  # inline, not a file
    code, key = _run(
        "issue", "--issuer-key", str(private), "--node", "*", "--expires", "2099-01-01"
    )
    assert code == 0 and key.startswith("cloudenv-license-1."), key
    code, out = _run("set", node, "-", input=key)
    assert code == 0, out
    assert cli.get(f"/v1/nodes/{node}/license").json()["expiry"] == "2099-01-01T00:00:00Z"

    code, other = _run(
        "issue", "--issuer-key", str(private), "--node", "node-AAAAAAAAAAAAAAAAAAAAA"
    )
    code, out = _run("set", node, input=other)
    assert code != 0 and "is for node node-AAAAAAAAAAAAAAAAAAAAA" in _words(out), out
    code, out = _run("set", node, input="garbage")
    assert code != 0 and "not a cloudenv license key" in _words(out), out
    assert cli.get(f"/v1/nodes/{node}/license").json()["key"] == key.strip()


def test_issue_refuses_a_bad_node_or_issuer_key(tmp_path: Path) -> None:
    private, public = _keygen(tmp_path)
    code, out = _run("issue", "--issuer-key", str(private), "--node", "web-1")
    assert code != 0 and "not a node ID" in _words(out), out
    code, out = _run("issue", "--issuer-key", str(public), "--node", "*")
    assert code != 0 and "not a PEM private key" in _words(out), out
    code, out = _run("keygen", str(private))
    assert code != 0 and "nothing was changed" in _words(out)


def test_init_trusts_the_issuer_and_takes_the_node_id_its_key_names(tmp_path: Path) -> None:
    _, public = _keygen(tmp_path)
    private = keys.load_private_key((tmp_path / "issuer.pem").read_bytes())
    node_id = "node-InstalledWithKey_0001"
    key = keys.issue(private, node=node_id, expiry=clock.now() + timedelta(days=30 * 13))
    data_dir, key_file = tmp_path / "node", tmp_path / "node.key"
    key_file.write_text(key + "\n")
    flags = ["--trust-issuer", str(public), "--license-key-file", str(key_file)]
    code, out = _init(data_dir, ADMIN_PASSWORD, *flags)
    assert code == 0, out
    settings = Settings.load(data_dir)
    assert settings.node_id == node_id
    engine = make_engine(settings.database_url)
    with transaction(make_session_factory(engine)) as db:
        assert db.get_one(Node, node_id) is not None
        assert db.get_one(NodeLicense, node_id).key == key
        (issuer,) = db.query(LicenseIssuer).all()
        assert issuer.fingerprint == keys.fingerprint(private.public_key())
    engine.dispose()


def _license_flags(public: Path, key: str) -> list[str]:
    return ["--trust-issuer", str(public), "--license-key", key]


def test_init_refuses_a_key_it_cannot_check_and_changes_nothing(tmp_path: Path) -> None:
    _, public = _keygen(tmp_path)
    stranger = keys.generate_issuer()
    untrusted = keys.issue(stranger, node="*", expiry=clock.now() + timedelta(days=10))
    data_dir = tmp_path / "node"
    code, out = _init(data_dir, ADMIN_PASSWORD, *_license_flags(public, untrusted))
    assert code != 0 and "does not trust" in _words(out), out
    assert "Nothing was changed" in _words(out)
    code, out = _init(data_dir, ADMIN_PASSWORD, "--license-key", untrusted)
    assert code != 0 and "trusts no license issuer" in _words(out), out
    assert not Settings.is_initialized(data_dir)
