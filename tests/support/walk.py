"""Walking every operation of the app's OpenAPI document with one organization's objects:
what the access, isolation and policy tests share.

Operations are read from ``app.openapi()``: each signed-in one carries its IAM action
(``x-cloudenv-action``; null when any signed-in caller may call it and the service judges
per target). Each is called with a real object of organization A for every path
parameter, the query parameters it needs, and a body: an explicit one where a route needs
a particular shape, else one made from the operation's request schema (each required
field from its type, its enum or its example; ``*_id`` fields name A's objects).

A route added later is walked without anyone adding it here; when its path or query
names something this module can't fill, the test fails saying what to add (and where).
"""

from __future__ import annotations

import itertools
import re
import uuid
from dataclasses import dataclass, fields
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import Deployment
from tests.unit.api.test_instances_api import deploy_body

_PARAM = re.compile(r"{(\w+)(?::\w+)?}")
_METHODS = ("get", "put", "post", "patch", "delete")

#: Answer without credentials, on purpose.
PUBLIC = {
    "GET /api/v1/healthcheck",  # load balancers and `cloudenv` probing a node
    "POST /api/v1/auth/login",
    "GET /api/v1/openapi.json",  # the contract client generators read
}
#: Served but not in the document: the document itself (public, above).
UNDOCUMENTED = {"GET /api/v1/openapi.json"}
#: Streams: called with a short ``timeout`` and read to their end; their per-tenant and
#: per-policy filtering has tests of its own (test_isolation.py, test_authorization.py).
STREAMS = {"GET /api/v1/events"}


@dataclass(frozen=True)
class Operation:
    """One method of one path of the OpenAPI document."""

    method: str
    path: str
    #: The IAM action the caller's policies must allow (None: any signed-in caller).
    action: str | None
    #: Whether the operation needs a signed-in caller (it names an action, maybe null).
    signed_in: bool
    query: tuple[str, ...]
    required_query: tuple[str, ...]
    #: The request body's media type and schema, when it takes one.
    body_type: str | None
    body_schema: dict[str, Any] | None

    @property
    def path_params(self) -> list[str]:
        return _PARAM.findall(self.path)

    @property
    def segments_before(self) -> dict[str, str]:
        """Each path parameter with the literal segment before it (``devices`` for the
        ``name`` of ``.../devices/{name}``): what kind of object it names."""
        parts = self.path.strip("/").split("/")
        found = {}
        for before, part in itertools.pairwise(parts):
            match = _PARAM.fullmatch(part)
            if match:
                found[match.group(1)] = before
        return found

    @property
    def mutating(self) -> bool:
        return self.method != "GET"

    def url(self, params: dict[str, str]) -> str:
        return _PARAM.sub(lambda m: params[m.group(1)], self.path)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def names_ids(
    schema: dict[str, Any] | None, schemas: dict[str, Any], seen: frozenset[str] = frozenset()
) -> bool:
    """Whether a body of ``schema`` has a field naming an object (``*_id``), at any depth."""
    if not schema:
        return False
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return name not in seen and names_ids(schemas[name], schemas, seen | {name})
    parts = [*schema.get("anyOf", []), *schema.get("oneOf", []), *schema.get("allOf", [])]
    if "items" in schema:
        parts.append(schema["items"])
    properties = schema.get("properties", {})
    if any(field.endswith("_id") for field in properties):
        return True
    return any(names_ids(p, schemas, seen) for p in [*parts, *properties.values()])


def operations(app: FastAPI) -> list[Operation]:
    """Every operation of the app's OpenAPI document."""
    document = app.openapi()
    found = []
    for path, item in document["paths"].items():
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            query = [p for p in operation.get("parameters", []) if p["in"] == "query"]
            content = operation.get("requestBody", {}).get("content", {})
            body_type = (
                "application/json" if "application/json" in content else next(iter(content), None)
            )
            found.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    action=operation.get("x-cloudenv-action"),
                    signed_in="x-cloudenv-action" in operation,
                    query=tuple(p["name"] for p in query),
                    required_query=tuple(p["name"] for p in query if p.get("required")),
                    body_type=body_type,
                    body_schema=(content.get(body_type) or {}).get("schema") if body_type else None,
                )
            )
    return found


def components(app: FastAPI) -> dict[str, Any]:
    schemas: dict[str, Any] = app.openapi().get("components", {}).get("schemas", {})
    return schemas


@dataclass(frozen=True)
class Objects:
    """One object of each kind, all of organization A."""

    organization: str
    datacenter: str
    cluster: str
    node: str
    pool: str
    #: A pool made through the cluster's storage pool routes, enabled on the node.
    cluster_pool: str
    instance: str
    volume: str
    task: str
    device: str
    snapshot: str
    image: str
    policy: str
    user: str
    token: str
    #: A trusted license issuer, and the node's license key it signed (not an ID, but
    #: listed with them: a key entitles whoever holds it, so no other tenant may see it).
    issuer: str
    license_key: str
    vswitch: str
    #: A port group of ``vswitch`` (its name).
    port_group: str

    def ids(self) -> list[str]:
        """The IDs a reply must not show another tenant (names are not IDs)."""
        named = ("device", "snapshot", "image", "port_group")
        return [getattr(self, f.name) for f in fields(self) if f.name not in named]

    def by_param(self) -> dict[str, str]:
        return {
            "organization_id": self.organization,
            "datacenter_id": self.datacenter,
            "cluster_id": self.cluster,
            "node_id": self.node,
            "instance_id": self.instance,
            "task_id": self.task,
            "target_id": self.instance,  # a filter of the task list
            "volume_id": self.volume,
            "storage_pool_id": self.pool,
            "pool_id": self.cluster_pool,
            "image_id": self.image,
            "policy_id": self.policy,
            "user_id": self.user,
            "token_id": self.token,
            "issuer_id": self.issuer,
            "vswitch_id": self.vswitch,
        }

    def path_value(self, operation: Operation, param: str) -> str:
        """A's object for ``param`` of ``operation``; fails on a parameter it doesn't know."""
        known = self.by_param()
        if param in known:
            return known[param]
        named = {
            "devices": self.device,
            "snapshots": self.snapshot,
            "images": self.image,
            "port_groups": self.port_group,
        }
        kind = operation.segments_before.get(param, "")
        if param == "name" and kind in named:
            return named[kind]
        pytest.fail(
            f"{operation}: no object to fill path parameter {{{param}}} with; add one of "
            "organization A's objects for it to Objects (and its fixture) in "
            "tests/support/walk.py"
        )

    def query(self, operation: Operation) -> dict[str, str]:
        known = {
            **{k: v for k, v in self.by_param().items() if k in ("node_id", "storage_pool_id")},
            "organization_id": self.organization,
            "confirm": "DESTROY",
            "name": "stolen.iso",
            "timeout": "0.3",  # streams end by themselves
            "dry_run": "true",
        }
        missing = [q for q in operation.required_query if q not in known]
        if missing:
            pytest.fail(
                f"{operation}: no value for required query parameter(s) {missing}; add one to "
                "Objects.query in tests/support/walk.py"
            )
        return {q: known[q] for q in operation.query if q in known}

    def body(
        self, operation: Operation, dep: Deployment, schemas: dict[str, Any]
    ) -> dict[str, Any]:
        """Keyword arguments for the request: a valid body, so the reply is about access."""
        if operation.body_type is None:
            return {}
        if operation.body_type == "application/octet-stream":
            return {"content": b"x" * 4096}
        explicit = self.bodies(dep)
        if str(operation) in explicit:
            return {"json": explicit[str(operation)]}
        if operation.body_type != "application/json" or operation.body_schema is None:
            pytest.fail(
                f"{operation}: takes a {operation.body_type} body; add a valid one to "
                "Objects.bodies in tests/support/walk.py"
            )
        return {"json": self.example(operation.body_schema, schemas, "body")}

    def bodies(self, dep: Deployment) -> dict[str, Any]:
        """Bodies a schema alone can't make valid (a deploy's shape, a device's metadata)."""
        return {
            "POST /api/v1/auth/login": {"username": "pceadmin", "password": "wrong-Passw0rd"},
            "POST /api/v1/organizations": {"name": "stolen"},
            "PATCH /api/v1/organizations/{organization_id}": {"name": "stolen"},
            "POST /api/v1/datacenters": {"name": "stolen", "organization_id": self.organization},
            "PATCH /api/v1/datacenters/{datacenter_id}": {"name": "stolen"},
            "PATCH /api/v1/clusters/{cluster_id}": {"name": "stolen"},
            "POST /api/v1/clusters/{cluster_id}/storage_pools": {
                "name": "stolen",
                "type": 0,
                "config": {"path": "/srv/stolen"},
            },
            "PATCH /api/v1/storage_pools/{pool_id}": {"node_ids": [self.node]},
            "POST /api/v1/networks/vswitches/standalone": {
                "node_id": self.node,
                "name": "svswitch99",
            },
            "PATCH /api/v1/networks/vswitches/standalone/{vswitch_id}": {"description": "stolen"},
            "POST /api/v1/networks/vswitches/standalone/{vswitch_id}/port_groups": {
                "name": "stolen",
                "config": {"type": 3},
            },
            "PATCH /api/v1/networks/vswitches/standalone/{vswitch_id}/port_groups/{name}": {
                "description": "stolen"
            },
            "POST /api/v2/instances": deploy_body(dep, name="stolen"),
            "PATCH /api/v1/instances/{instance_id}": {"data": {"name": "stolen"}},
            "POST /api/v1/instances/{instance_id}/power": {"action": "kill"},
            "POST /api/v1/instances/{instance_id}/console": {},
            "POST /api/v1/instances/{instance_id}/devices": {
                "name": "stolen",
                "type": 2,
                "metadata": {
                    "_type": "storage_volume",
                    "data": {"volume_id": self.volume, "bus": "virtio", "dev": "/dev/vdz"},
                },
            },
            "PATCH /api/v1/instances/{instance_id}/devices/{name}": {"description": "stolen"},
            "POST /api/v1/instances/{instance_id}/snapshots": {"name": "stolen"},
            "POST /api/v1/policies": {
                "name": "stolen",
                "organization_id": self.organization,
                "statements": [{"action": "*", "effect": "allow"}],
            },
            "PATCH /api/v1/policies/{policy_id}": {"name": "stolen"},
            "PUT /api/v1/organizations/{organization_id}/quotas": {
                "vcpus": 0,
                "memory_mb": 0,
                "storage_gb": 0,
                "instances": 0,
            },
            "POST /api/v1/nodes/{node_id}/console": {},
            "POST /api/v1/users": {"organization_id": self.organization, "username": "stolen"},
            "POST /api/v1/users/import": [{"username": "stolen"}],
            "PATCH /api/v1/users/{user_id}": {"description": "stolen"},
            "PUT /api/v1/users/{user_id}/policies": {"policy_ids": []},
            "PUT /api/v1/nodes/{node_id}/license": {"key": self.license_key},
            "POST /api/v1/auth/password": {
                "current_password": "wrong-Passw0rd",
                "new_password": "stolen-kettle-orbit",
            },
            "POST /api/v1/auth/mfa/confirm": {"code": "123456"},
            "POST /api/v1/auth/mfa/disable": {"password": "wrong-Passw0rd"},
            "POST /api/v1/users/{user_id}/tokens": {"name": "stolen"},
            "POST /api/v1/users/{user_id}/invalidate-sessions": {"invalidate_current": "false"},
            # Not True: an allowed caller's walk would then be held to enrolling a factor.
            "PATCH /api/v1/organizations/{organization_id}/security": {"require_mfa": False},
        }

    def example(self, schema: dict[str, Any], schemas: dict[str, Any], name: str) -> Any:
        """A value of ``schema`` (a field called ``name``): required fields only; IDs name
        A's objects; strings their example, or a name-like word."""
        if "$ref" in schema:
            return self.example(schemas[schema["$ref"].rsplit("/", 1)[-1]], schemas, name)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                options = [s for s in schema[key] if s.get("type") != "null"]
                return self.example(options[0], schemas, name) if options else None
        if "allOf" in schema:
            return self.example(schema["allOf"][0], schemas, name)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return schema["enum"][0]
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            properties = schema.get("properties", {})
            return {
                field: self.example(properties.get(field, {}), schemas, field)
                for field in schema.get("required", [])
            }
        if kind == "array":
            item = schema.get("items", {})
            return [self.example(item, schemas, name) for _ in range(schema.get("minItems", 0))]
        if kind == "boolean":
            return False
        if kind == "integer":
            return max(int(schema.get("minimum", 1)), 1)
        if kind == "number":
            return float(max(schema.get("minimum", 1), 1))
        if name in self.by_param():
            return self.by_param()[name]
        if schema.get("examples"):
            return schema["examples"][0]
        if schema.get("format") == "date-time":
            return "2099-01-01T00:00:00Z"
        return "stolen-1"

    def call(
        self, client: TestClient, operation: Operation, dep: Deployment, schemas: dict[str, Any]
    ) -> httpx.Response:
        params = {p: self.path_value(operation, p) for p in operation.path_params}
        return client.request(
            operation.method,
            operation.url(params),
            params=self.query(operation),
            **self.body(operation, dep, schemas),
        )


def make_objects(admin: TestClient, dep: Deployment) -> Objects:
    """One of each kind in the root organization (A), made through the API where it can
    be, straight in the store where no route makes one yet (a user, a token)."""
    from cloudenv import clock
    from cloudenv.store.engine import transaction
    from cloudenv.store.tables import ApiToken
    from tests.support.principals import add_user
    from tests.unit.api.test_instances_api import deploy, upload

    upload(admin, dep, "guest.iso")
    instance = deploy(admin, dep, image="guest.iso")
    snapshot = admin.post(f"/api/v1/instances/{instance}/snapshots", json={"name": "snap-1"})
    assert snapshot.status_code == 202, snapshot.text
    # A volume of its own (POST /v1/volumes), attached to nothing: the volume routes act
    # on it (the deploy's root volume can't be resized cold or destroyed while in use).
    created = admin.post(
        "/api/v1/volumes",
        json={
            "node_id": dep.setup.node_id,
            "storage_pool_id": dep.setup.default_pool_id,
            "name": "ours",
            "size": 1,
            "driver": "qcow2",
        },
    )
    assert created.status_code == 202, created.text
    dep.daemon.agent.run_pending()
    volume = admin.get(f"/api/v1/volumes/{created.json()['id']}").json()
    assert volume["status"] == 1, volume
    created = admin.post(
        f"/api/v1/clusters/{dep.setup.cluster_id}/storage_pools",
        json={"name": "walked", "type": 0, "config": {"path": "/srv/walked"}},
    )
    assert created.status_code == 200, created.text
    cluster_pool = created.json()["id"]
    enabled = admin.patch(
        f"/api/v1/storage_pools/{cluster_pool}", json={"node_ids": [dep.setup.node_id]}
    )
    assert enabled.status_code == 200, enabled.text
    dep.daemon.agent.run_pending()
    created = admin.post(
        "/api/v1/networks/vswitches/standalone",
        json={"node_id": dep.setup.node_id, "name": "svswitch1"},
    )
    assert created.status_code == 200, created.text
    vswitch = created.json()["id"]
    group = admin.post(
        f"/api/v1/networks/vswitches/standalone/{vswitch}/port_groups",
        json={"name": "walked", "config": {"type": 1, "data": {"vlan_id": 10}}},
    )
    assert group.status_code == 200, group.text
    dep.daemon.agent.run_pending()
    policy = admin.post(
        "/api/v1/policies",
        json={"name": "ours", "statements": [{"action": "instance.read", "effect": "allow"}]},
    )
    assert policy.status_code == 200, policy.text
    license_key, issuer = _licensed(admin, dep)
    user = add_user(dep, "victim-of-a", [])
    token_id = f"tok-{uuid.uuid4().hex[:21]}"
    with transaction(dep.factory) as db:
        db.add(
            ApiToken(
                id=token_id,
                user_id=user,
                name="ours",
                token_hash="0" * 64,
                creation=clock.now(),
            )
        )
    # A sampling pass: the metrics routes then hold A's node and running instance.
    from cloudenv.agent.metrics import MetricsSampler

    MetricsSampler(dep.setup.node_id, dep.factory, dep.daemon.agent.drivers).sample()
    setup = dep.setup
    return Objects(
        organization=setup.organization_id,
        datacenter=setup.datacenter_id,
        cluster=setup.cluster_id,
        node=setup.node_id,
        pool=setup.default_pool_id,
        cluster_pool=cluster_pool,
        instance=instance,
        volume=volume["id"],
        task=snapshot.json()["task_id"],
        device="disk0",
        snapshot="snap-1",
        image="guest.iso",
        policy=policy.json()["id"],
        user=user,
        token=token_id,
        issuer=issuer,
        license_key=license_key,
        vswitch=vswitch,
        port_group="walked",
    )


def _licensed(admin: TestClient, dep: Deployment) -> tuple[str, str]:
    """A trusted issuer and a key it signed, set on the node: (the key, the issuer's ID)."""
    from datetime import timedelta

    from cloudenv import clock
    from cloudenv.services.licensing import keys

    private = keys.generate_issuer()
    trusted = admin.post(
        "/api/v1/license_issuers",
        json={"public_key": keys.public_key_text(private.public_key()), "name": "ours"},
    )
    assert trusted.status_code == 200, trusted.text
    node = dep.setup.node_id
    key = keys.issue(private, node=node, expiry=clock.now() + timedelta(days=365))
    assert admin.put(f"/api/v1/nodes/{node}/license", json={"key": key}).status_code == 200
    return key, str(trusted.json()["id"])
