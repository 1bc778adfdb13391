"""Request bodies are strict: a boolean is not a number, a number is not a string, a
string is not a boolean, and a field the API doesn't know is refused by name. Every body
of every operation is probed through the API (as JSON, the way clients send it), and the
bodies the product's clients send are still accepted."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel

from cloudenv.api.app import ROUTERS
from tests.conftest import Deployment
from tests.unit.api.contract import MISSING_ID, WRONG_KIND, minimal, operations, resolve

pytestmark = pytest.mark.unit


def test_a_boolean_longitude_is_refused_and_changes_nothing(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dc_id = sqlite_deployment.setup.datacenter_id
    before = admin.get(f"/api/v1/datacenters/{dc_id}").json()
    response = admin.patch(
        f"/api/v1/datacenters/{dc_id}", json={"location": {"latitude": 1, "longitude": False}}
    )
    assert response.status_code == 400, response.text
    assert response.json()["field"] == "location.longitude"
    assert "must be a number, not false" in response.json()["message"]
    assert admin.get(f"/api/v1/datacenters/{dc_id}").json() == before


def _models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        found = [annotation]
        for field in annotation.model_fields.values():
            found += _models(field.annotation)
        return found
    return [m for arg in getattr(annotation, "__args__", ()) for m in _models(arg)]


def test_every_request_body_model_is_strict() -> None:
    from cloudenv.api.schemas.common import RequestBody

    bodies = [
        route.body_field.field_info.annotation
        for module in ROUTERS
        for route in module.router.routes
        if isinstance(route, APIRoute) and route.body_field is not None
    ]
    models = {m for body in bodies for m in _models(body)}
    assert len(models) >= 15
    for model in models:
        assert issubclass(model, RequestBody), model.__name__
        assert model.model_config.get("strict") is True, model.__name__
        assert model.model_config.get("extra") == "forbid", model.__name__


def _probes(document: dict[str, Any], body_schema: dict[str, Any]) -> list[tuple[str, Any]]:
    """(field, wrong value) for every scalar property of the body, and an unknown field."""
    schema = resolve(document, body_schema)
    probes: list[tuple[str, Any]] = [("not_a_field", 1)]
    for name, prop in schema.get("properties", {}).items():
        kind = resolve(document, prop).get("type")
        if kind in WRONG_KIND and "enum" not in prop:
            probes.append((name, WRONG_KIND[kind]))
    return probes


def test_every_body_refuses_wrong_kinds_and_unknown_fields(admin: TestClient) -> None:
    document = admin.get("/api/v1/openapi.json").json()
    probed = 0
    for op in operations(document):
        if not op.json_body:
            continue
        for field, wrong in _probes(document, op.json_body):
            body = {**minimal(document, op.json_body), field: wrong}
            response = admin.request(
                op.method.upper(), op.concrete_path, params=op.required_query, json=body
            )
            assert response.status_code == 400, (str(op), field, wrong, response.text)
            assert response.json()["field"].split(".")[0] == field, (str(op), response.json())
            probed += 1
    assert probed >= 40


def test_the_product_clients_bodies_are_accepted(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    org = admin.post("/api/v1/organizations", json={"name": "go-client", "description": ""})
    assert org.status_code == 200, org.text
    dc = admin.post(
        "/api/v1/datacenters",
        json={"name": "dc-go", "organization_id": org.json()["id"], "description": "d"},
    )
    assert dc.status_code == 200, dc.text
    located = admin.patch(
        f"/api/v1/datacenters/{dc.json()['id']}",
        json={"location": {"latitude": 52, "longitude": 13.4}},  # integers are numbers
    )
    assert located.status_code == 200, located.text
    assert located.json()["location"] == {"latitude": 52.0, "longitude": 13.4}
    # The Go client's deploy body names a driver on existing volumes too.
    deploy = admin.post(
        "/api/v2/instances",
        json={
            "destination": {"node_id": sqlite_deployment.setup.node_id},
            "name": "go-1",
            "architecture": "x86_64",
            "type": 2,
            "cpu": {"sockets": 1, "cores": 1, "threads": 1},
            "memory": 256,
            "imds_enabled": False,
            "networks": [],
            "metadata": {
                "_type": "qemu",
                "cpu_model": "host",
                "machine_type": "pc",
                "firmware": "bios",
                "secure_boot": {"enabled": False, "enroll_standard_keys": False},
                "new_volumes": [],
                "existing_volumes": [
                    {
                        "backup": False,
                        "readonly": False,
                        "bus": "virtio",
                        "dev": "/dev/vdb",
                        "driver": "qcow2",
                        "volume_id": MISSING_ID,
                    }
                ],
            },
            "autostart": False,
        },
    )
    assert deploy.status_code in (400, 404), deploy.text  # refused for the volume only
    assert deploy.json()["field"].startswith("metadata.existing_volumes"), deploy.json()
