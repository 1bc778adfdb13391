"""Fine-grained authorization inside one's own organization: statements on a cluster's
subtree, an instance, a node take effect on every route; single reads answer 403 where a
policy forbids them, and lists, the tree, a node's instances, tasks and the events stream
leave out what the caller may not read.

The tree is the set-up's (datacenter "default" > its cluster > node-a) plus a second
branch written in the store; instances are stopped rows on each node."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cloudenv.services.access import Action
from tests.conftest import Deployment
from tests.support.principals import (
    Branch,
    add_branch,
    add_instance,
    add_policy,
    add_user,
    signed_in,
)
from tests.unit.api.test_event_stream import StreamReader

pytestmark = pytest.mark.unit

#: Every read, as statements: what a viewer needs before anything is denied.
READS = [{"action": a.value, "effect": "allow", "resource": "*"} for a in Action if a.reads]


@dataclass(frozen=True)
class Cloud:
    dep: Deployment
    first: Branch  # set-up's
    second: Branch
    inst_a: str  # on the first node
    inst_b: str  # on the second node

    def user(self, name: str, *statements: dict[str, Any]) -> str:
        add_user(self.dep, name, [add_policy(self.dep, list(statements), name=name)])
        return name


@pytest.fixture
def cloud(sqlite_deployment: Deployment) -> Cloud:
    dep = sqlite_deployment
    setup = dep.setup
    first = Branch(setup.datacenter_id, setup.cluster_id, setup.node_id)
    second = add_branch(dep, "west")
    return Cloud(
        dep,
        first,
        second,
        add_instance(dep, first.node, "alpha"),
        add_instance(dep, second.node, "bravo"),
    )


@pytest.fixture
def as_user(cloud: Cloud) -> Iterator[Any]:
    """``as_user(name)`` signs ``name`` in (closed at the end)."""
    opened: list[Any] = []

    def sign_in(name: str) -> TestClient:
        context = signed_in(cloud.dep, name)
        opened.append(context)
        return context.__enter__()

    yield sign_in
    for context in opened:
        context.__exit__(None, None, None)


def deny(action: str, resource: str) -> dict[str, Any]:
    return {"action": action, "effect": "deny", "resource": resource}


def allow(action: str, resource: str = "*") -> dict[str, Any]:
    return {"action": action, "effect": "allow", "resource": resource}


def test_power_allowed_on_a_clusters_subtree_works_there_only(cloud: Cloud, as_user: Any) -> None:
    client = as_user(
        cloud.user("pia", *READS, allow("instance.power", f"{cloud.second.cluster}/*"))
    )
    there = client.post(f"/api/v1/instances/{cloud.inst_b}/power", json={"action": "start"})
    assert there.status_code == 202, there.text
    here = client.post(f"/api/v1/instances/{cloud.inst_a}/power", json={"action": "start"})
    assert here.status_code == 403
    assert "instance.power" in here.json()["message"]


def test_a_statement_naming_one_instance_covers_that_instance(cloud: Cloud, as_user: Any) -> None:
    client = as_user(cloud.user("ivo", *READS, allow("instance.*", cloud.inst_a)))
    assert (
        client.patch(
            f"/api/v1/instances/{cloud.inst_a}", json={"data": {"description": "mine"}}
        ).status_code
        == 200
    )
    assert (
        client.patch(
            f"/api/v1/instances/{cloud.inst_b}", json={"data": {"description": "mine"}}
        ).status_code
        == 403
    )


@pytest.mark.parametrize(
    ("denied", "paths"),
    [
        ("instance.read", ["/api/v1/instances/{inst_b}", "/api/v1/instances/{inst_b}/devices"]),
        ("datacenter.read", ["/api/v1/datacenters/{dc}"]),
        ("cluster.read", ["/api/v1/clusters/{cls}", "/api/v1/clusters/{cls}/hardware"]),
        ("node.read", ["/api/v1/nodes/{node}", "/api/v1/nodes/{node}/hardware"]),
    ],
)
def test_single_reads_are_403_where_a_deny_covers_the_object(
    cloud: Cloud, as_user: Any, denied: str, paths: list[str]
) -> None:
    """Inside one's own organization a refusal is 403 (the object is known to exist
    there); the same read of the other branch still answers."""
    second, first = cloud.second, cloud.first
    client = as_user(
        cloud.user(
            "dora",
            *READS,
            deny(denied, f"{second.datacenter}"),
            deny(denied, f"{second.datacenter}/*"),
        )
    )
    ids = {
        "inst_b": cloud.inst_b,
        "dc": second.datacenter,
        "cls": second.cluster,
        "node": second.node,
    }
    others = {
        "inst_b": cloud.inst_a,
        "dc": first.datacenter,
        "cls": first.cluster,
        "node": first.node,
    }
    for path in paths:
        refused = client.get(path.format(**ids))
        assert refused.status_code == 403, (path, refused.text)
        assert denied in refused.json()["message"]
        assert client.get(path.format(**others)).status_code == 200, path


def test_the_tree_shows_only_what_the_policies_allow_reading(
    cloud: Cloud, as_user: Any, admin: TestClient
) -> None:
    second = cloud.second
    client = as_user(
        cloud.user(
            "tess",
            *READS,
            deny("node.read", second.node),
            deny("datacenter.read", second.datacenter),
        )
    )
    whole = admin.get("/api/v1/organizations").json()
    (tree,) = client.get("/api/v1/organizations").json()
    assert {d["id"] for d in tree["datacenters"]} == {cloud.first.datacenter}
    assert {c["id"] for c in tree["clusters"]} == {cloud.first.cluster, second.cluster}
    assert {n["id"] for n in tree["nodes"]} == {cloud.first.node}
    # Everything else as the whole tree shows it.
    (full,) = whole
    assert tree["organization"] == full["organization"]
    assert [c for c in full["clusters"] if c["id"] in {c["id"] for c in tree["clusters"]}] == (
        tree["clusters"]
    )
    # The same through the organization itself.
    one = client.get(f"/api/v1/organizations/{cloud.dep.setup.organization_id}").json()
    assert {n["id"] for n in one["nodes"]} == {cloud.first.node}
    # A change shows at once: the filtered tree follows the cached one.
    admin.patch(f"/api/v1/clusters/{second.cluster}", json={"name": "renamed"})
    (after,) = client.get("/api/v1/organizations").json()
    assert "renamed" in {c["name"] for c in after["clusters"]}
    # The lists say the same.
    assert {d["id"] for d in client.get("/api/v1/datacenters").json()} == {cloud.first.datacenter}
    detail = client.get(f"/api/v1/datacenters/{cloud.first.datacenter}").json()
    assert [c["id"] for c in detail["clusters"]] == [cloud.first.cluster]


def test_the_tree_lists_the_organizations_the_policies_allow_listing(
    cloud: Cloud, as_user: Any
) -> None:
    org = cloud.dep.setup.organization_id
    unlisted = as_user(cloud.user("ulla", *READS, deny("organization.list", org)))
    # organization.list is allowed somewhere (the route answers), not for this one.
    assert unlisted.get("/api/v1/organizations").json() == []
    assert unlisted.get(f"/api/v1/organizations/{org}").status_code == 200
    unread = as_user(cloud.user("otto", *READS, deny("organization.read", org)))
    assert [t["organization"]["id"] for t in unread.get("/api/v1/organizations").json()] == [org]
    assert unread.get(f"/api/v1/organizations/{org}").status_code == 403


def test_an_administrator_sees_the_tree_the_root_user_sees(
    cloud: Cloud, as_user: Any, admin: TestClient
) -> None:
    add_user(cloud.dep, "ada", ["pol-builtin-administrator"])
    assert (
        as_user("ada").get("/api/v1/organizations").json()
        == admin.get("/api/v1/organizations").json()
    )


def test_instance_lists_leave_out_what_may_not_be_read(cloud: Cloud, as_user: Any) -> None:
    extra = add_instance(cloud.dep, cloud.second.node, "bravo-2")
    client = as_user(cloud.user("lena", *READS, deny("instance.read", cloud.inst_b)))
    listed = client.get("/api/v1/instances", params={"cluster_id": cloud.second.cluster}).json()
    assert [i["id"] for i in listed] == [extra]
    by_node = client.get("/api/v1/instances", params={"node_id": cloud.second.node}).json()
    assert [i["id"] for i in by_node] == [extra]
    node = client.get(f"/api/v1/nodes/{cloud.second.node}").json()
    assert [i["id"] for i in node["instances"]] == [extra]
    # A search's limit counts what the caller may read.
    found = client.get("/api/v1/instances", params={"name_contains": "bravo", "limit": 1}).json()
    assert [i["id"] for i in found] == [extra]
    first = client.get("/api/v1/instances", params={"node_id": cloud.first.node}).json()
    assert [i["id"] for i in first] == [cloud.inst_a]


def test_tasks_are_read_where_their_target_may_be(
    cloud: Cloud, as_user: Any, admin: TestClient
) -> None:
    started = admin.post(f"/api/v1/instances/{cloud.inst_b}/power", json={"action": "start"})
    other = admin.post(f"/api/v1/instances/{cloud.inst_a}/power", json={"action": "start"})
    hidden, shown = started.json()["task_id"], other.json()["task_id"]
    client = as_user(cloud.user("tom", *READS, deny("task.read", f"{cloud.inst_b}/*")))
    assert client.get(f"/api/v1/tasks/{hidden}").status_code == 403
    assert client.get(f"/api/v1/tasks/{shown}").status_code == 200
    listed = {t["id"] for t in client.get("/api/v1/tasks").json()}
    assert shown in listed and hidden not in listed
    on_node = {t["id"] for t in client.get(f"/api/v1/nodes/{cloud.second.node}/tasks").json()}
    assert hidden not in on_node


def test_cancelling_is_judged_at_the_tasks_target(
    cloud: Cloud, as_user: Any, admin: TestClient
) -> None:
    client = as_user(cloud.user("carl", *READS, allow("instance.power", f"{cloud.first.node}/*")))
    theirs = admin.post(f"/api/v1/instances/{cloud.inst_b}/power", json={"action": "start"})
    mine = admin.post(f"/api/v1/instances/{cloud.inst_a}/power", json={"action": "start"})
    assert client.post(f"/api/v1/tasks/{theirs.json()['task_id']}/cancel").status_code == 403
    assert client.post(f"/api/v1/tasks/{mine.json()['task_id']}/cancel").status_code == 200


def test_deploying_is_judged_at_the_destination_node(cloud: Cloud, as_user: Any) -> None:
    from tests.unit.api.test_instances_api import deploy_body

    client = as_user(
        cloud.user("dina", *READS, allow("instance.deploy", f"{cloud.second.cluster}/*"))
    )
    refused = client.post("/api/v2/instances", json=deploy_body(cloud.dep, name="nope"))
    assert refused.status_code == 403
    assert "instance.deploy" in refused.json()["message"]


def test_consoles_are_judged_at_the_instance(cloud: Cloud, as_user: Any) -> None:
    client = as_user(cloud.user("cleo", *READS, allow("instance.console", cloud.inst_b)))
    # Refused by policy before the instance's state is looked at (both are stopped).
    assert client.post(f"/api/v1/instances/{cloud.inst_a}/console", json={}).status_code == 403
    assert client.post(f"/api/v1/instances/{cloud.inst_b}/console", json={}).status_code == 409


def _stream(client: TestClient, since: int | None) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"timeout": 0.6}
    if since is not None:
        params["since"] = since
    with client.stream("GET", "/api/v1/events", params=params) as response:
        assert response.status_code == 200
        text = "".join(response.iter_text())
    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]


def test_the_events_stream_leaves_out_what_may_not_be_read(
    cloud: Cloud, as_user: Any, admin: TestClient
) -> None:
    """Read back from the store (a stream resuming from an ID) and live from the shared
    feed: events of the hidden instance never reach the restricted caller."""
    name = cloud.user("eve", *READS, deny("instance.read", f"{cloud.second.node}/*"))
    client = as_user(name)
    for instance in (cloud.inst_a, cloud.inst_b):
        admin.patch(f"/api/v1/instances/{instance}", json={"data": {"description": "before"}})
    targets = {e["target_id"] for e in _stream(client, since=0)}
    assert cloud.inst_a in targets and cloud.inst_b not in targets
    assert cloud.inst_b in {e["target_id"] for e in _stream(admin, since=0)}

    token = client.headers["Authorization"].removeprefix("Bearer ")
    reader = StreamReader(cloud.dep, token, timeout=2.0)
    reader.start()
    time.sleep(0.5)
    for instance in (cloud.inst_b, cloud.inst_a):
        admin.patch(f"/api/v1/instances/{instance}", json={"data": {"description": "live"}})
    reader.join(10)
    live = {e["target_id"] for e in reader.events()}
    assert cloud.inst_a in live and cloud.inst_b not in live


def test_the_filtered_tree_follows_a_change_of_the_policy(
    cloud: Cloud, as_user: Any, admin: TestClient
) -> None:
    """The filtered tree is kept per policy (and revision): an edit shows at once, and
    another holder of the same policy is served the same tree."""
    hidden = deny("node.read", cloud.second.node)
    policy = add_policy(cloud.dep, [*READS, hidden], name="narrow")
    add_user(cloud.dep, "gus", [policy])
    add_user(cloud.dep, "gil", [policy])
    gus, gil = as_user("gus"), as_user("gil")

    def nodes(client: TestClient) -> set[str]:
        (tree,) = client.get("/api/v1/organizations").json()
        return {n["id"] for n in tree["nodes"]}

    assert nodes(gus) == nodes(gil) == {cloud.first.node}
    edited = admin.patch(f"/api/v1/policies/{policy}", json={"statements": READS})
    assert edited.status_code == 200, edited.text
    assert nodes(gus) == nodes(gil) == {cloud.first.node, cloud.second.node}


def test_a_cached_list_is_never_served_to_a_caller_with_other_policies(
    cloud: Cloud, as_user: Any
) -> None:
    """Lists are cached per scope: an Administrator and a narrower user of the same
    organization (same scope) must each get their own, whoever asks first."""
    add_user(cloud.dep, "ada", ["pol-builtin-administrator"])
    narrow = as_user(cloud.user("nora", *READS, deny("instance.read", cloud.inst_b)))
    ada = as_user("ada")
    params = {"cluster_id": cloud.second.cluster}
    assert [i["id"] for i in ada.get("/api/v1/instances", params=params).json()] == [cloud.inst_b]
    assert narrow.get("/api/v1/instances", params=params).json() == []
    by_node = {"node_id": cloud.second.node}
    assert narrow.get("/api/v1/instances", params=by_node).json() == []
    assert [i["id"] for i in ada.get("/api/v1/instances", params=by_node).json()] == [cloud.inst_b]
