"""Fixtures: a node set up in a temporary data dir and served in-process (unit), the
database it uses (SQLite, or PostgreSQL for tests that ask), signed-in clients.

The schema is migrated and the deployment set up once per run; each test's database is a
copy of that template (tests/support/database.py), so tests are isolated and cheap."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cloudenv import clock
from cloudenv.agent.drivers import Drivers
from cloudenv.config import Settings, sqlite_url
from cloudenv.daemon import Daemon, build
from cloudenv.drivers.compute.fake import FakeComputeDriver
from cloudenv.drivers.storage.fake import FakeStorageDriver
from cloudenv.ids import Prefix, new_id
from cloudenv.services import auth, setup
from cloudenv.store.engine import transaction
from cloudenv.store.tables import Node, Organization, StoragePool, User
from tests.support.database import Templates
from tests.support.pgserver import create_database, postgres_server
from tests.support.served_node import ADMIN_PASSWORD

TENANT_PASSWORD = "Tenant-Pass-42!"

FAKE_HARDWARE: dict[str, Any] = {
    "vcpus": 8,
    "cpu": {
        "manufacturer": "AMD",
        "brand": "AMD EPYC 7302",
        "speed": {"current": 3.0},
        "governor": "performance",
        "cores": {"physical": 8, "performance": 8, "efficiency": 0},
        "processors": 8,
        "sockets": 1,
        "flags": ["avx2", "svm"],
        "virtualization": True,
    },
    "memory": [
        {
            "bank": 0,
            "empty": False,
            "data": {
                "size": 32768,
                "type": "DDR4",
                "ecc": True,
                "voltage": {"current": 1.2, "min": 1.2, "max": 1.2},
            },
        }
    ],
    "disks": [
        {
            "device": "/dev/nvme0n1",
            "name": "Samsung SSD",
            "size": 512.11,
            "serial": "S1",
            "interface": "nvme",
            "smart_status": "unknown",
            "vendor": "Samsung",
            "temperature": 35,
        }
    ],
    "usb": [],
    "pci": [
        {
            "slot": "0000:00:01.0",
            "class": "0x060100",
            "vendor": "0x8086",
            "device": "0x7000",
            "revision": "0x00",
            "prog_if": "0x00",
            "iommu_group": "1",
            "marked_for_passthrough": False,
        }
    ],
    "memory_total_mb": 32768,
}
FAKE_HOST: dict[str, Any] = {
    "hostname": "node-a",
    "os": {"kernel": "6.1.0-26-amd64", "architecture": "x86_64", "uefi": True},
    "boot_time": 1_700_000_000,
}


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """One PostgreSQL server for the whole run; each test gets its own database."""
    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Run the test on the embedded default and on PostgreSQL."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path)
    return create_database(request.getfixturevalue("postgres_admin_url"))


@dataclass
class Deployment:
    daemon: Daemon
    setup: setup.SetupResult

    @property
    def factory(self):  # type: ignore[no-untyped-def]
        return self.daemon.session_factory

    @property
    def compute(self) -> FakeComputeDriver:
        driver = self.daemon.agent.drivers.compute
        assert isinstance(driver, FakeComputeDriver)
        return driver

    @property
    def storage(self) -> FakeStorageDriver:
        driver = self.daemon.agent.drivers.storage
        assert isinstance(driver, FakeStorageDriver)
        return driver

    def add_tenant(
        self,
        name: str = "tenant-b",
        username: str = "alice",
        policies: tuple[str, ...] = ("pol-builtin-administrator",),
    ) -> tuple[str, str]:
        """A second organization with one user holding ``policies`` (the organization's
        administrator by default); returns (organization_id, user_id)."""
        from cloudenv.services.access import SYSTEM
        from cloudenv.services.tenancy.organizations import create_organization
        from cloudenv.store.tables import UserPolicy

        with transaction(self.factory) as db:
            org = create_organization(db, SYSTEM, name=name)
            user = User(
                id=new_id(Prefix.USER),
                organization_id=org.id,
                username=username,
                password_hash=auth.hash_password(TENANT_PASSWORD),
                creation=clock.now(),
            )
            db.add(user)
            db.flush()
            for position, policy_id in enumerate(policies):
                db.add(UserPolicy(user_id=user.id, policy_id=policy_id, position=position))
            return org.id, user.id


def _initialize(database_url: str, data_dir: Path) -> setup.SetupResult:
    """Migrate an empty database and set up the deployment every test starts from."""
    node_id = new_id(Prefix.NODE)
    settings = Settings(
        data_dir=data_dir, node_id=node_id, database_url=database_url, management_ip="127.0.0.1"
    )
    daemon = build(settings, run_agent=False, drivers=_fake_drivers(data_dir))
    try:
        with transaction(daemon.session_factory) as db:
            return setup.initialize(
                db,
                setup.SetupRequest(
                    organization_name="acme",
                    timezone="Etc/UTC",
                    admin_password=ADMIN_PASSWORD,
                    node_id=node_id,
                    node_name="node-a",
                    management_ip="127.0.0.1",
                    hardware=FAKE_HARDWARE,
                    host=FAKE_HOST,
                    default_pool_path=str(settings.default_pool_path),
                ),
            )
    finally:
        daemon.engine.dispose()


#: Migrated and initialized once per run and backend; every deployment is a copy.
TEMPLATES = Templates(_initialize)


def _fake_drivers(data_dir: Path) -> Drivers:
    return Drivers(FakeComputeDriver(), FakeStorageDriver(), serial_log_dir=str(data_dir))


def make_deployment(tmp_path: Path, database_url: str) -> Deployment:
    """A node set up in ``tmp_path`` on the empty database at ``database_url``, as
    ``cloudenv init`` would leave it: a copy of the run's template (see
    tests/support/database.py), so the IDs set-up made are the same in every test."""
    template = TEMPLATES.clone_into(database_url)
    settings = Settings(
        data_dir=tmp_path,
        node_id=template.setup.node_id,
        database_url=database_url,
        management_ip="127.0.0.1",
    )
    daemon = build(settings, run_agent=False, migrate=False, drivers=_fake_drivers(tmp_path))
    # What differs per test: the default pool lives in this test's data dir.
    with transaction(daemon.session_factory) as db:
        pool = db.get_one(StoragePool, template.setup.default_pool_id)
        pool.config = {**pool.config, "path": str(settings.default_pool_path)}
        # The agent is not running in unit tests; the node counts as alive as if its agent
        # had just reported (deploys to a node that is not alive are refused).
        db.get_one(Node, template.setup.node_id).last_seen = clock.now()
    return Deployment(daemon, template.setup)


@pytest.fixture
def deployment(tmp_path: Path, database_url: str) -> Iterator[Deployment]:
    dep = make_deployment(tmp_path, database_url)
    yield dep
    dep.daemon.engine.dispose()


@pytest.fixture
def sqlite_deployment(tmp_path: Path) -> Iterator[Deployment]:
    """For API tests whose subject is not the database: SQLite only, fast."""
    dep = make_deployment(tmp_path, sqlite_url(tmp_path))
    yield dep
    dep.daemon.engine.dispose()


def login(client: TestClient, username: str, password: str) -> TestClient:
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    client.headers["Authorization"] = f"Bearer {response.json()['token']}"
    return client


@pytest.fixture
def anon(sqlite_deployment: Deployment) -> Iterator[TestClient]:
    with TestClient(sqlite_deployment.daemon.app, base_url="https://testserver") as client:
        yield client


@pytest.fixture
def admin(anon: TestClient) -> TestClient:
    return login(anon, "pceadmin", ADMIN_PASSWORD)


@pytest.fixture
def tenant(sqlite_deployment: Deployment) -> Iterator[tuple[TestClient, str]]:
    """A signed-in user of a second, non-root organization, and that organization's ID."""
    org_id, _ = sqlite_deployment.add_tenant()
    with TestClient(sqlite_deployment.daemon.app, base_url="https://testserver") as client:
        yield login(client, "alice", TENANT_PASSWORD), org_id


def audit_rows(dep: Deployment) -> list[Any]:
    from sqlalchemy import select

    from cloudenv.store.tables import AuditRecord

    with transaction(dep.factory) as db:
        return list(db.scalars(select(AuditRecord).order_by(AuditRecord.id)))


def count_rows(dep: Deployment, model: type) -> int:
    from sqlalchemy import func, select

    with transaction(dep.factory) as db:
        return int(db.scalar(select(func.count()).select_from(model)) or 0)


__all__ = ["Organization"]
