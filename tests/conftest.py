"""Fixtures: a node set up in a temporary data dir and served in-process (unit), the
database it uses (SQLite, or PostgreSQL for tests that ask), signed-in clients; and, for the
integration and browser tests, one real node per xdist worker that runs guests.

The schema is migrated and the deployment set up once per run; each test's database is a
copy of that template (tests/support/database.py), so tests are isolated and cheap."""

from __future__ import annotations

import os
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
from cloudenv.drivers.network.base import NicInfo
from cloudenv.drivers.network.fake import FakeNetworkDriver
from cloudenv.drivers.storage.fake import FakeStorageDriver
from cloudenv.ids import Prefix, new_id
from cloudenv.services import auth, setup
from cloudenv.store.engine import transaction
from cloudenv.store.tables import Node, Organization, StoragePool, User
from cloudenv.ui import UI_DIR_ENV
from tests.support.compute import GuestImages, real_node_dir, remove_domains, upload_guest
from tests.support.database import Templates
from tests.support.libvirt import ensure_libvirtd
from tests.support.ovs import Lab, ensure_ovs
from tests.support.pgserver import create_database, postgres_server
from tests.support.served_node import ADMIN_PASSWORD, Server, serving

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


# The order xdist hands work out in ---------------------------------------------------------------

#: The slowest work units of ``make test`` (xdist's ``--dist loadscope`` runs a module, or a
#: class of one, on one worker), slowest first: 25-70 s each on 2 cores (twice that when
#: other work shares them), where a unit test module takes a few. xdist hands units out in
#: collection order (``--no-loadscope-reorder`` in pyproject.toml; by default it hands out
#: the units with the most tests first, so these, with few tests, went last and a worker
#: still ran one a minute after the others were done). Every other integration unit
#: follows them, then the unit tests, which fill in the end. A name that no longer matches
#: only loses its place.
SLOWEST_FIRST = (
    "tests/integration/test_readme_commands.py",
    "tests/integration/test_compute_served.py::TestPower",
    "tests/integration/test_compute_served.py::TestConsoles",
    "tests/integration/test_served_node.py::TestServedNode",
    "tests/integration/test_served_node.py::TestOneDataDir",
    "tests/integration/test_compute_served.py::TestVolumes",
    "tests/e2e/test_console.py",
    "tests/integration/test_compute_served.py::TestBoot",
    "tests/e2e/test_tasks_and_session.py",
    "tests/integration/test_compute_served.py",
    "tests/integration/test_devices_libvirt.py",
    "tests/e2e/test_instance.py",
    "tests/e2e/test_journey.py",
    "tests/e2e/test_pages.py",
)


def _work_unit(item: pytest.Item) -> str:
    """The scope xdist's loadscope keeps on one worker: the test's class, else its module."""
    return item.nodeid.rsplit("::", 1)[0]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slowest work units first (SLOWEST_FIRST), then the other integration tests' units, then
    the unit tests' with the most tests first; a unit's tests keep their order."""
    units: dict[str, list[pytest.Item]] = {}
    for item in items:
        units.setdefault(_work_unit(item), []).append(item)

    def rank(unit: str) -> tuple[int, int]:
        if unit in SLOWEST_FIRST:
            return 0, SLOWEST_FIRST.index(unit)
        if any(item.get_closest_marker("integration") for item in units[unit]):
            return 1, 0
        return 2, -len(units[unit])

    items[:] = [item for unit in sorted(units, key=rank) for item in units[unit]]


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
    def containers(self) -> FakeComputeDriver:
        driver = self.daemon.agent.drivers.containers
        assert isinstance(driver, FakeComputeDriver)
        return driver

    @property
    def network(self) -> FakeNetworkDriver:
        driver = self.daemon.agent.drivers.network
        assert isinstance(driver, FakeNetworkDriver)
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


#: The fake node's NICs: eth0 carries its management address (settings' management_ip),
#: eth1-eth3 are free to become uplinks.
TEST_NICS = (
    NicInfo("eth0", "52:54:00:00:00:10", 1500, 1000, True, "virtio_net", None, ("127.0.0.1/8",)),
    NicInfo("eth1", "52:54:00:00:00:11", 1500, 1000, True, "virtio_net", None),
    NicInfo("eth2", "52:54:00:00:00:12", 1500, 1000, True, "virtio_net", None),
    NicInfo("eth3", "52:54:00:00:00:13", 9000, None, False, "veth", None),
)


def _fake_drivers(data_dir: Path) -> Drivers:
    return Drivers(
        FakeComputeDriver(),
        FakeStorageDriver(),
        serial_log_dir=str(data_dir),
        network=FakeNetworkDriver(TEST_NICS),
        containers=FakeComputeDriver(containers=True),
        containers_unavailable="",
    )


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


# A real node (integration and browser tests) --------------------------------------------------


@pytest.fixture(scope="session")
def real_node() -> Iterator[Server]:
    """A node set up and served as an operator does it (``cloudenv init``, ``cloudenv serve``
    over TLS in a subprocess, real libvirt), in a data dir QEMU can reach, serving the UI's
    build when there is one: one per xdist worker, shared by the tests that need a node
    that runs guests and not one of their own (the browser tests, the compute tests).

    Setting a node up and serving it costs seconds of both cores, so it is done once per
    worker, not per module; the tests sharing it leave it as they found it (each removes
    what it deployed or uploaded) or only look at what is their own."""
    ensure_libvirtd()
    with real_node_dir() as node_dir:
        if UI_DIR_ENV in os.environ:  # the node's environment is otherwise hermetic
            node_dir.env[UI_DIR_ENV] = os.environ[UI_DIR_ENV]
        with serving(node_dir) as server:
            try:
                yield server
            finally:
                remove_domains(node_dir.path / "pools" / "default")


@pytest.fixture(scope="session")
def guest_images(real_node: Server) -> GuestImages:
    """The test guest's images on ``real_node``, uploaded once and never removed: the tests
    sharing the node boot them, so one that removed them would pull them from under
    another's guest (and a second upload under the same name is refused)."""
    node_id = str(real_node.health["id"])
    with real_node.admin() as client:
        pool_id = str(client.get(f"/api/v1/nodes/{node_id}/storage/pools").json()[0]["id"])
        upload_guest(client, node_id, pool_id)  # leaves what is there already
    return GuestImages(node_id, pool_id)


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


@pytest.fixture
def lab() -> Iterator[Lab]:
    """Open vSwitch running (started as scripts/start-ovs.sh does) and a lab of namespaces,
    veths and bridges for one test, all removed afterwards, whatever happened."""
    try:
        ensure_ovs()
    except RuntimeError as exc:
        pytest.fail(f"Open vSwitch can't be started here: {exc}")
    made = Lab()
    try:
        yield made
    finally:
        made.close()
    assert made.leftovers() == []
