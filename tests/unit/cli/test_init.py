"""``cloudenv init``: the installer's steps as flags; refusals change nothing."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from cloudenv.cli import admin
from cloudenv.cli.main import app
from cloudenv.config import Settings
from cloudenv.host.reach import Account, qemu_account
from cloudenv.store.engine import make_engine, make_session_factory, transaction
from cloudenv.store.tables import Cluster, Datacenter, Node, Organization, StoragePool, User
from tests.conftest import ADMIN_PASSWORD

pytestmark = pytest.mark.unit
runner = CliRunner()


@pytest.fixture(autouse=True)
def qemu_as_root(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """pytest's temporary directories sit under a 0700 directory that QEMU's real user can't
    reach, which is not what these tests are about: here QEMU runs as root, unless a test
    asks for the host's real account (the ``real_qemu_user`` fixture)."""
    if "real_qemu_user" not in request.fixturenames:
        monkeypatch.setattr(admin, "qemu_account", lambda: Account("root", 0, frozenset({0})))


def _init(
    data_dir: Path, password: str = ADMIN_PASSWORD, *extra: str, env: dict[str, str] | None = None
) -> tuple[int, str]:
    pw = data_dir.parent / "pw"
    pw.write_text(password + "\n")
    result = runner.invoke(
        app,
        [
            "init",
            "--data-dir",
            str(data_dir),
            "--accept-eula",
            "--organization",
            "acme",
            "--admin-password-file",
            str(pw),
            "--management-ip",
            "127.0.0.1",
            *extra,
        ],
        env=env,
    )
    return result.exit_code, result.output


def test_init_creates_the_deployment(tmp_path: Path) -> None:
    data_dir = tmp_path / "node"
    code, output = _init(data_dir)
    assert code == 0, output
    assert "Initialized" in output and "fingerprint" in output
    settings = Settings.load(data_dir)
    assert settings.node_id.startswith("node-") and settings.timezone == "Etc/UTC"
    assert (data_dir / "config.json").stat().st_mode & 0o777 == 0o600
    assert data_dir.stat().st_mode & 0o777 == 0o711  # QEMU's user reaches pools/ inside
    assert settings.tls.server_key.stat().st_mode & 0o777 == 0o600
    assert settings.tls.ca_key.stat().st_mode & 0o777 == 0o600
    engine = make_engine(settings.database_url)
    with transaction(make_session_factory(engine)) as db:
        org = db.scalars(select(Organization)).one()
        assert org.name == "acme" and org.is_root
        assert db.scalars(select(Datacenter)).one().organization_id == org.id
        assert db.scalars(select(Cluster)).one().leader_id == settings.node_id
        node = db.scalars(select(Node)).one()
        assert node.id == settings.node_id and node.ip_address == "127.0.0.1"
        assert node.hardware["vcpus"] >= 1 and node.host["os"]["architecture"]
        pool = db.scalars(select(StoragePool)).one()
        assert pool.config["path"] == str(data_dir / "pools" / "default")
        assert pool.is_default and pool.can_hold_images
        admin = db.scalars(select(User)).one()
        assert admin.username == "pceadmin" and admin.is_root
        assert admin.password_hash.startswith("$argon2id$")
    engine.dispose()


def _digest(directory: Path) -> dict[str, str]:
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def test_init_twice_refuses_and_changes_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "node"
    assert _init(data_dir)[0] == 0
    before = _digest(data_dir)
    code, output = _init(data_dir)
    assert code != 0 and "already initialized" in output
    assert _digest(data_dir) == before


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        ((), "Sh0rt-Pass!", "too short"),
        ((), "Pceadmin-Kettle-47", "contains the user name"),
        ((), "Password1234!", "commonly used"),
        (("--timezone", "Mars/Olympus"), ADMIN_PASSWORD, "not a time zone"),
        (("--management-ip", "not-an-ip"), ADMIN_PASSWORD, "not an IP address"),
    ],
)
def test_bad_setup_input_leaves_nothing(
    tmp_path: Path, args: tuple[str, ...], password: str, message: str
) -> None:
    data_dir = tmp_path / "node"
    code, output = _init(data_dir, password, *args)
    assert code != 0
    assert message in output.replace("\n", " ")
    assert not data_dir.exists()


def test_bad_organization_name(tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    pw.write_text(ADMIN_PASSWORD)
    result = runner.invoke(
        app,
        [
            "init",
            "--data-dir",
            str(tmp_path / "n"),
            "--accept-eula",
            "--organization",
            "a b",
            "--admin-password-file",
            str(pw),
        ],
    )
    assert result.exit_code != 0 and "not valid" in result.output
    assert not (tmp_path / "n").exists()


def test_eula_must_be_accepted(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["init", "--data-dir", str(tmp_path / "n"), "--organization", "acme"], input="n\n"
    )
    assert result.exit_code != 0 and "not accepted" in result.output
    assert not (tmp_path / "n").exists()


def test_password_from_environment(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "init",
            "--data-dir",
            str(tmp_path / "n"),
            "--accept-eula",
            "--organization",
            "acme",
            "--management-ip",
            "127.0.0.1",
        ],
        env={"CLOUDENV_ADMIN_PASSWORD": ADMIN_PASSWORD},
    )
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "n" / "config.json").read_text())["management_ip"] == "127.0.0.1"


def test_serve_refuses_an_uninitialized_dir(tmp_path: Path) -> None:
    result = runner.invoke(app, ["serve", "--data-dir", str(tmp_path)])
    assert result.exit_code != 0 and "cloudenv init" in result.output.replace("\n", " ")


@pytest.fixture
def real_qemu_user() -> Account:
    """Paths are judged as the host's real QEMU user (see ``qemu_as_root``)."""
    return qemu_account()


@pytest.fixture
def private_dir() -> Iterator[Path]:
    """What ``mktemp -d`` gives: a 0700 directory in /tmp, owned by root."""
    path = Path(tempfile.mkdtemp(prefix="cloudenv-init-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def test_init_refuses_a_data_dir_qemu_cannot_reach(
    private_dir: Path, real_qemu_user: Account
) -> None:
    account = real_qemu_user
    assert account.uid > 0, "libvirt-daemon-system creates libvirt-qemu on this machine"
    data_dir = private_dir / "node"
    code, output = _init(data_dir)
    text = " ".join(output.split())
    assert code != 0
    assert (
        f"{private_dir} is mode 0700: {account.name} can't reach the pool; "
        f"chmod o+x {private_dir} or choose another --data-dir. Nothing was changed."
    ) in text
    assert not data_dir.exists()
    assert sorted(os.listdir(private_dir)) == ["pw"]  # only what the test itself wrote
    assert stat.S_IMODE(private_dir.stat().st_mode) == 0o700


@pytest.mark.usefixtures("real_qemu_user")
def test_init_accepts_the_same_dir_once_qemu_can_pass(private_dir: Path) -> None:
    private_dir.chmod(0o711)
    data_dir = private_dir / "node"
    code, output = _init(data_dir)
    assert code == 0, output
    assert stat.S_IMODE((data_dir / "pools").stat().st_mode) == 0o711


@pytest.mark.usefixtures("real_qemu_user")
def test_init_may_ignore_an_unreachable_data_dir_on_test_machines(private_dir: Path) -> None:
    code, output = _init(private_dir / "node", ADMIN_PASSWORD, "--ignore-requirements")
    assert code == 0, output
    assert "can't reach the pool" in " ".join(output.split())
