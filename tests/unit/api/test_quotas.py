"""Quotas over HTTP: the limits with the usage, set by the root organization's
administrators only; an over-quota deploy or edit is refused with a message naming the
quota, the usage and the request, and leaves nothing behind; null is unlimited."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from cloudenv.services.iam import quotas
from cloudenv.store.engine import transaction
from cloudenv.store.queries.quotas import lock_organization
from cloudenv.store.tables import Event, Instance, InstanceDevice, Task, Volume
from tests.conftest import TENANT_PASSWORD, Deployment, audit_rows, count_rows, login
from tests.support.served_node import ADMIN_PASSWORD
from tests.unit.api.test_instances_api import deploy, deploy_body, power

pytestmark = pytest.mark.unit

UNLIMITED = {"vcpus": None, "memory_mb": None, "storage_gb": None, "instances": None}
NOTHING_USED = {"vcpus": 0, "memory_mb": 0, "storage_gb": 0, "instances": 0}


def _path(org_id: str) -> str:
    return f"/api/v1/organizations/{org_id}/quotas"


def _set(client: TestClient, org_id: str, **limits: int | None) -> dict[str, Any]:
    response = client.put(_path(org_id), json={**UNLIMITED, **limits})
    assert response.status_code == 200, response.text
    reply: dict[str, Any] = response.json()
    return reply


def _rows(dep: Deployment) -> dict[str, int]:
    """What a deploy writes: none of it may stay when it is refused."""
    tables = {"instances": Instance, "devices": InstanceDevice, "volumes": Volume}
    counts = {name: count_rows(dep, table) for name, table in tables.items()}
    return {**counts, "tasks": count_rows(dep, Task), "events": count_rows(dep, Event)}


def test_quotas_show_the_limits_and_the_usage(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    org_id = dep.setup.organization_id
    assert admin.get(_path(org_id)).json() == {**UNLIMITED, "usage": NOTHING_USED}
    deploy(admin, dep)  # 1 socket x 2 cores x 1 thread, 256 MB, one volume of 1 GB
    deploy(admin, dep, cpu={"sockets": 2, "cores": 2, "threads": 2}, memory=1024)
    assert admin.get(_path(org_id)).json() == {
        **UNLIMITED,
        "usage": {"vcpus": 10, "memory_mb": 1280, "storage_gb": 2, "instances": 2},
    }


def test_root_administrators_set_quotas_and_null_is_unlimited(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    org_id = dep.setup.organization_id
    limits = {"vcpus": 16, "memory_mb": 32768, "storage_gb": 500, "instances": 10}
    assert _set(admin, org_id, **limits) == {**limits, "usage": NOTHING_USED}
    assert admin.get(_path(org_id)).json() == {**limits, "usage": NOTHING_USED}
    changed = [r for r in audit_rows(dep) if r.action == "quota.update"]
    assert [(r.target_id, r.outcome) for r in changed] == [(org_id, "success")]
    assert "vcpus unlimited -> 16" in changed[0].message
    relaxed = _set(admin, org_id, vcpus=None, memory_mb=0, storage_gb=500, instances=10)
    assert relaxed["vcpus"] is None and relaxed["memory_mb"] == 0
    # Tenants' quotas are set from the root organization too.
    tenant_id, _ = dep.add_tenant()
    assert _set(admin, tenant_id, instances=3)["instances"] == 3
    assert admin.get(_path(org_id)).json()["instances"] == 10


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**UNLIMITED, "vcpus": -1}, "vcpus"),
        ({**UNLIMITED, "memory_mb": 2**31}, "memory_mb"),
        ({**UNLIMITED, "storage_gb": "10"}, "storage_gb"),
        ({**UNLIMITED, "instances": 1.5}, "instances"),
        ({"vcpus": 4, "memory_mb": None, "storage_gb": None}, "instances"),  # each is given
        ({**UNLIMITED, "cpus": 4}, "cpus"),
    ],
)
def test_bad_quotas_are_refused_and_change_nothing(
    admin: TestClient, sqlite_deployment: Deployment, body: dict[str, Any], field: str
) -> None:
    org_id = sqlite_deployment.setup.organization_id
    _set(admin, org_id, vcpus=8)
    response = admin.put(_path(org_id), json=body)
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field
    assert admin.get(_path(org_id)).json()["vcpus"] == 8


def test_an_organization_reads_but_cannot_set_its_own_quotas(
    admin: TestClient, tenant: tuple[TestClient, str], sqlite_deployment: Deployment
) -> None:
    alice, tenant_id = tenant  # the tenant's Administrator
    root_id = sqlite_deployment.setup.organization_id
    _set(admin, tenant_id, vcpus=4)
    assert alice.get(_path(tenant_id)).json() == {
        **UNLIMITED,
        "vcpus": 4,
        "usage": NOTHING_USED,
    }
    refused = alice.put(_path(tenant_id), json=UNLIMITED)
    assert refused.status_code == 403, refused.text
    assert "root organization" in refused.json()["message"]
    assert alice.get(_path(tenant_id)).json()["vcpus"] == 4
    # Another organization's quotas are not there at all.
    assert alice.get(_path(root_id)).status_code == 404
    assert alice.put(_path(root_id), json=UNLIMITED).status_code == 404


def test_reading_quotas_needs_quota_read(admin: TestClient, sqlite_deployment: Deployment) -> None:
    dep = sqlite_deployment
    org_id, _ = dep.add_tenant("tenant-b", "olga", policies=("pol-builtin-operator",))
    olga = login(TestClient(dep.daemon.app, base_url="https://testserver"), "olga", TENANT_PASSWORD)
    refused = olga.get(_path(org_id))
    assert refused.status_code == 403 and "quota.read" in refused.json()["message"]


@pytest.mark.parametrize(
    ("limits", "overrides", "field", "message"),
    [
        (
            {"vcpus": 3},
            {},
            "cpu",
            "Organization acme's vCPU quota is 3; 2 are in use and this deploy asks for 2.",
        ),
        (
            {"memory_mb": 600},
            {"memory": 512},
            "memory",
            "Organization acme's memory quota is 600 MB; 256 MB are in use and this deploy "
            "asks for 512 MB.",
        ),
        (
            {"instances": 1},
            {},
            None,
            "Organization acme's instance quota is 1; 1 is in use and this deploy asks for 1.",
        ),
        (
            {"storage_gb": 10},
            {"size": 10},
            "metadata.new_volumes",
            "Organization acme's storage quota is 10 GB; 1 GB is in use and this deploy "
            "asks for 10 GB.",
        ),
    ],
)
def test_an_over_quota_deploy_is_refused_and_leaves_nothing(
    admin: TestClient,
    sqlite_deployment: Deployment,
    limits: dict[str, int],
    overrides: dict[str, Any],
    field: str | None,
    message: str,
) -> None:
    dep = sqlite_deployment
    org_id = dep.setup.organization_id
    deploy(admin, dep)  # 2 vCPUs, 256 MB, 1 GB, one instance
    _set(admin, org_id, **limits)
    size = overrides.pop("size", 1)
    body = deploy_body(dep, name="web-2", **overrides)
    body["metadata"]["new_volumes"][0]["size"] = size
    before = _rows(dep)
    refused = admin.post("/api/v2/instances", json=body)
    assert refused.status_code == 409, refused.text
    assert refused.json()["message"].startswith(message)
    assert refused.json().get("field") == field
    assert _rows(dep) == before
    failed = [r for r in audit_rows(dep) if r.outcome == "failure"]
    assert failed[-1].action == "instance.deploy" and failed[-1].status_code == 409


def test_a_deploy_that_fits_exactly_goes_through(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    org_id = dep.setup.organization_id
    _set(admin, org_id, vcpus=4, memory_mb=512, storage_gb=2, instances=2)
    deploy(admin, dep)
    deploy(admin, dep)
    assert admin.get(_path(org_id)).json()["usage"] == {
        "vcpus": 4,
        "memory_mb": 512,
        "storage_gb": 2,
        "instances": 2,
    }
    before = _rows(dep)
    assert admin.post("/api/v2/instances", json=deploy_body(dep)).status_code == 409
    assert _rows(dep) == before
    # Unlimited again: the same deploy is accepted.
    _set(admin, org_id)
    deploy(admin, dep)


def test_an_over_quota_edit_is_refused_and_changes_nothing(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    org_id = dep.setup.organization_id
    instance_id = deploy(admin, dep)  # 2 vCPUs, 256 MB
    power(admin, dep, instance_id, "kill")  # CPU and memory are edited while stopped
    _set(admin, org_id, vcpus=3, memory_mb=512)
    path = f"/api/v1/instances/{instance_id}"
    before = admin.get(path).json()["instance"]

    refused = admin.patch(path, json={"data": {"memory": 1024}})
    assert refused.status_code == 409, refused.text
    assert refused.json()["field"] == "memory"
    assert refused.json()["message"].startswith(
        "Organization acme's memory quota is 512 MB; 256 MB are in use and this edit asks "
        "for 768 MB more."
    )
    refused = admin.patch(path, json={"data": {"cpu": {"sockets": 1, "cores": 4, "threads": 1}}})
    assert refused.status_code == 409 and refused.json()["field"] == "cpu"
    assert (
        "vCPU quota is 3; 2 are in use and this edit asks for 2 more."
        in (refused.json()["message"])
    )
    # Refused as a whole: the name given with it is not applied either.
    refused = admin.patch(path, json={"data": {"name": "renamed", "memory": 1024}})
    assert refused.status_code == 409
    assert admin.get(path).json()["instance"] == before

    # Within the quota, and anything that lowers the usage, goes through.
    grown = admin.patch(path, json={"data": {"memory": 512}})
    assert grown.status_code == 200 and grown.json()["instance"]["memory"] == 512
    _set(admin, org_id, vcpus=1, memory_mb=128)  # below what is in use: allowed
    shrunk = admin.patch(path, json={"data": {"memory": 256}})
    assert shrunk.status_code == 200, shrunk.text
    assert admin.patch(path, json={"data": {"description": "fine"}}).status_code == 200


def test_the_check_locks_the_organization_until_commit(deployment: Deployment) -> None:
    """Two checks of one organization take turns: while one transaction holds the lock
    (from ``enforce`` until it commits), another can't take it, so it can't read a usage
    the first is about to change. Both backends: row lock (PostgreSQL), write lock
    (SQLite). The second waits only briefly here, so a held lock shows as an error."""
    dep = deployment
    org_id = dep.setup.organization_id
    sqlite = dep.daemon.engine.dialect.name == "sqlite"
    brief, usual = (
        ("PRAGMA busy_timeout = 100", "PRAGMA busy_timeout = 10000")
        if sqlite
        else ("SET lock_timeout = '100ms'", "SET lock_timeout = 0")
    )
    with transaction(dep.factory) as db:
        lock_organization(db, org_id)  # what enforce takes for an organization with limits
        with transaction(dep.factory) as other:
            other.execute(text(brief))
            try:
                with pytest.raises(OperationalError, match="lock"):
                    lock_organization(other, org_id)
            finally:
                other.rollback()
                other.execute(text(usual))
    with transaction(dep.factory) as other:  # released at commit
        assert lock_organization(other, org_id) is not None


def test_an_organization_without_limits_is_not_locked(
    sqlite_deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken: list[str] = []
    monkeypatch.setattr(quotas.q, "lock_organization", lambda db, org_id: taken.append(org_id))
    with transaction(sqlite_deployment.factory) as db:
        quotas.enforce(
            db, sqlite_deployment.setup.organization_id, quotas.Demand(vcpus=999), request="x"
        )
    assert taken == []


def test_usage_and_refusal_on_every_backend(deployment: Deployment) -> None:
    """The usage sums and the locked check, on SQLite and PostgreSQL."""
    dep = deployment
    org_id = dep.setup.organization_id
    with TestClient(dep.daemon.app, base_url="https://testserver") as client:
        admin = login(client, "pceadmin", ADMIN_PASSWORD)
        deploy(admin, dep, cpu={"sockets": 1, "cores": 2, "threads": 2}, memory=512)
        _set(admin, org_id, vcpus=6, storage_gb=5)
        assert admin.get(_path(org_id)).json()["usage"] == {
            "vcpus": 4,
            "memory_mb": 512,
            "storage_gb": 1,
            "instances": 1,
        }
        fits = admin.post("/api/v2/instances", json=deploy_body(dep, name="web-2"))
        assert fits.status_code == 202, fits.text  # 4 + 2 = 6 vCPUs
        dep.daemon.agent.run_pending()
        before = _rows(dep)
        refused = admin.post("/api/v2/instances", json=deploy_body(dep, name="web-3"))
        assert refused.status_code == 409, refused.text
        assert (
            "vCPU quota is 6; 6 are in use and this deploy asks for 2."
            in (refused.json()["message"])
        )
        assert _rows(dep) == before
