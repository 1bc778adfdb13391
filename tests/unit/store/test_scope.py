"""The tenant-scoping primitive and the selectors built on it: another tenant's rows are
simply not there, children of an instance included; and services read tenant data only
through selectors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cloudenv.store.engine import transaction
from cloudenv.store.queries import compute as qc
from cloudenv.store.queries import events as qe
from cloudenv.store.queries import storage as qs
from cloudenv.store.queries import tasks as qt
from cloudenv.store.queries.scope import UNSCOPED
from tests.conftest import Deployment
from tests.unit.api.test_instances_api import deploy, upload

pytestmark = pytest.mark.unit

SERVICES = Path(__file__).parents[3] / "src" / "cloudenv" / "services"
#: Services that read tenant data; each must do it through store/queries selectors.
TENANT_AREAS = [
    "compute",
    "storage",
    "tenancy",
    "tasks.py",
    "audit.py",
    "journal.py",
    "events.py",
]
RAW_READ = re.compile(r"\bselect\(|\bdb\.(get|get_one|scalar|scalars)\(")


def test_selectors_hide_other_tenants_rows_and_their_children(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    upload(admin, dep, "guest.iso")
    instance_id = deploy(admin, dep, image="guest.iso")
    admin.post(f"/api/v1/instances/{instance_id}/snapshots", json={"name": "s1"})
    dep.daemon.agent.run_pending()
    other, own = frozenset({"org-of-someone-else"}), frozenset({dep.setup.organization_id})
    with transaction(dep.factory) as db:
        for scope, visible in ((own, True), (UNSCOPED, True), (other, False)):
            found = [
                qc.get_instance(db, instance_id, scope),
                qc.devices(db, instance_id, scope),
                qc.snapshots(db, instance_id, scope),
                qc.get_snapshot(db, instance_id, "s1", scope),
                qc.instances(db, scope, node_id=dep.setup.node_id),
                qs.volumes(db, scope, instance_id=instance_id),
                qs.images(db, dep.setup.node_id, scope),
                qs.node_pools(db, dep.setup.node_id, scope),
                qt.node_tasks(db, dep.setup.node_id, scope, 10),
                qe.since(db, scope, 0, up_to_id=None, limit=10),
                qe.after_id(db, scope, 0, missing=(), limit=10),
            ]
            assert all(bool(f) is visible for f in found), (scope, found)


def test_services_read_tenant_data_only_through_selectors() -> None:
    paths = [p for area in TENANT_AREAS for p in sorted((SERVICES / area).glob("**/*.py"))]
    paths += [SERVICES / a for a in TENANT_AREAS if a.endswith(".py")]
    raw = [
        f"{path.relative_to(SERVICES)}:{number}: {line.strip()}"
        for path in paths
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if RAW_READ.search(line)
    ]
    assert raw == [], "read through store/queries selectors instead:\n" + "\n".join(raw)
