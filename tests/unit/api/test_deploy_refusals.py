"""Deploys refused before anything is written: to a node whose agent is not alive, and
naming an image the caller's organization can't see."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from cloudenv import clock
from cloudenv.store.engine import transaction
from cloudenv.store.tables import Cluster, Image, Instance, Node, Task, Volume
from tests.conftest import Deployment, count_rows
from tests.unit.api.test_instances_api import deploy_body, upload

pytestmark = pytest.mark.unit


def test_deploy_to_a_node_that_is_not_alive_is_refused(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    node_id = sqlite_deployment.setup.node_id
    for last_seen in (None, clock.now() - timedelta(minutes=5)):
        with transaction(sqlite_deployment.factory) as db:
            db.execute(update(Node).where(Node.id == node_id).values(last_seen=last_seen))
        response = admin.post("/api/v2/instances", json=deploy_body(sqlite_deployment))
        assert response.status_code == 409, response.text
        body = response.json()
        assert body["field"] == "destination.node_id"
        assert node_id in body["message"] and "not alive" in body["message"]
        for table in (Instance, Volume, Task):
            assert count_rows(sqlite_deployment, table) == 0


def test_deploy_finds_only_the_callers_images(
    admin: TestClient, tenant: tuple[TestClient, str], sqlite_deployment: Deployment
) -> None:
    """The node is the tenant's; an image on it that belongs to another organization is
    not found by name, so the tenant's deploy can't boot from it."""
    client, org_id = tenant
    upload(admin, sqlite_deployment, "root-only.iso")
    with transaction(sqlite_deployment.factory) as db:
        node = db.get_one(Node, sqlite_deployment.setup.node_id)
        node.organization_id = org_id
        db.get_one(Cluster, node.cluster_id).organization_id = org_id
    response = client.post(
        "/api/v2/instances", json=deploy_body(sqlite_deployment, image="root-only.iso")
    )
    assert response.status_code == 400, response.text
    assert response.json()["field"] == "image"
    assert count_rows(sqlite_deployment, Instance) == 0
    with transaction(sqlite_deployment.factory) as db:  # the tenant's own image is found
        db.execute(update(Image).values(organization_id=org_id))
    ok = client.post(
        "/api/v2/instances", json=deploy_body(sqlite_deployment, image="root-only.iso")
    )
    assert ok.status_code == 202, ok.text
