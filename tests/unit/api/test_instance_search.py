"""Name search over instances (``GET /v1/instances?name_contains=``): the tree's filter
asks the server for the matches instead of reading every cluster's list. A substring in
any case, the user's ``%``, ``_`` and ``\\`` taken literally, bounded by ``limit``, only
the caller's instances; the product's lists by node or cluster are unchanged."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from cloudenv.services.compute import instances
from cloudenv.store.engine import transaction
from cloudenv.store.queries import compute as q
from cloudenv.store.queries.scope import UNSCOPED
from tests.conftest import Deployment
from tests.unit.api.test_node_detail import add_instance

pytestmark = pytest.mark.unit


def _search(client: TestClient, text: str, **params: Any) -> list[str]:
    response = client.get("/api/v1/instances", params={"name_contains": text, **params})
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body, list)  # the bare array every list returns
    return [entry["name"] for entry in body]


def _refusal(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get("/api/v1/instances", params=params)
    assert response.status_code == 400, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"code", "message", "field"}
    assert body["code"] == 400
    return body


def _add(dep: Deployment, *names: str, organization_id: str | None = None) -> None:
    for name in names:
        add_instance(dep, dep.setup.node_id, organization_id or dep.setup.organization_id, name)


def test_matches_a_substring_in_any_case_by_name(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    _add(sqlite_deployment, "web-2", "Web-1", "db-1", "my-WEBSITE", "backend")
    assert _search(admin, "web") == ["Web-1", "my-WEBSITE", "web-2"]
    assert _search(admin, "EB-") == ["Web-1", "web-2"]
    assert _search(admin, "nothing-like-it") == []


def test_entries_are_those_of_the_lists(admin: TestClient, sqlite_deployment: Deployment) -> None:
    dep = sqlite_deployment
    _add(dep, "web-1", "db-1")
    (found,) = admin.get("/api/v1/instances", params={"name_contains": "web"}).json()
    listed = admin.get("/api/v1/instances", params={"node_id": dep.setup.node_id}).json()
    assert found == next(entry for entry in listed if entry["name"] == "web-1")


def test_wildcards_in_the_text_are_plain_characters(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    _add(sqlite_deployment, "100%-cpu", "1000-cpu", "a_b", "axb", "back\\slash", "backslash")
    assert _search(admin, "%") == ["100%-cpu"]
    assert _search(admin, "0%-") == ["100%-cpu"]
    assert _search(admin, "_") == ["a_b"]
    assert _search(admin, "a_b") == ["a_b"]
    assert _search(admin, "\\") == ["back\\slash"]
    assert _search(admin, "k\\s") == ["back\\slash"]


def test_like_pattern_escapes_the_escape_character_first() -> None:
    assert q.like_pattern("a\\%_b") == "%a\\\\\\%\\_b%"


def test_limit_bounds_the_matches_and_one_more_tells_there_are_more(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    _add(sqlite_deployment, *(f"vm-{i:02d}" for i in range(7)))
    assert _search(admin, "vm-", limit=3) == ["vm-00", "vm-01", "vm-02"]
    # The tree asks one more than it shows: 6 of 7 answered means "more than 5".
    assert len(_search(admin, "vm-", limit=6)) == 6
    assert len(_search(admin, "vm-", limit=8)) == 7
    assert len(_search(admin, "vm-")) == 7  # the default (200) holds them all


def test_the_default_limit_applies(
    admin: TestClient, sqlite_deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(instances, "SEARCH_DEFAULT", 2)
    _add(sqlite_deployment, "vm-1", "vm-2", "vm-3")
    assert _search(admin, "vm") == ["vm-1", "vm-2"]


def test_search_narrows_to_a_node_or_cluster(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    _add(dep, "web-1", "db-1")
    assert _search(admin, "1", node_id=dep.setup.node_id) == ["db-1", "web-1"]
    assert _search(admin, "web", cluster_id=dep.setup.cluster_id) == ["web-1"]
    assert _search(admin, "web", node_id="node-elsewhere") == []


def test_other_organizations_instances_never_appear(
    admin: TestClient, tenant: tuple[TestClient, str], sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    alice, tenant_org = tenant
    _add(dep, "root-web")
    _add(dep, "tenant-web", organization_id=tenant_org)
    assert _search(alice, "web") == ["tenant-web"]
    assert _search(alice, "root") == []
    assert _search(alice, "web", node_id=dep.setup.node_id) == ["tenant-web"]
    assert _search(admin, "web") == ["root-web", "tenant-web"]  # the root sees every tenant


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"name_contains": ""}, "name_contains"),
        ({"name_contains": "x" * 256}, "name_contains"),
        ({"name_contains": "web", "limit": 0}, "limit"),
        ({"name_contains": "web", "limit": 1001}, "limit"),
        ({"name_contains": "web", "limit": "many"}, "limit"),
        ({"name_contains": "web", "node_id": "node-a", "cluster_id": "cls-a"}, "node_id"),
        ({"node_id": "node-a", "limit": 5}, "limit"),  # lists by node are always complete
        ({}, "node_id"),
    ],
)
def test_bad_searches_are_refused_with_the_field(
    admin: TestClient, params: dict[str, Any], field: str
) -> None:
    assert _refusal(admin, **params)["field"] == field


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name_contains": ""}, "name_contains"),
        ({"name_contains": "web", "limit": 1001}, "limit"),
        ({"name_contains": "web", "limit": 0}, "limit"),
        ({"node_id": "node-a", "limit": 5}, "limit"),
        ({"name_contains": "web", "node_id": "node-a", "cluster_id": "cls-a"}, "node_id"),
    ],
)
def test_the_service_holds_the_rules_for_every_caller(
    sqlite_deployment: Deployment, kwargs: dict[str, Any], field: str
) -> None:
    from cloudenv.errors import InvalidInput
    from cloudenv.services.access import SYSTEM

    with transaction(sqlite_deployment.factory) as db, pytest.raises(InvalidInput) as refused:
        instances.list_instances(db, SYSTEM, **kwargs)
    assert refused.value.field == field


def test_lists_by_node_and_cluster_are_unchanged(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    """The product's clients list by node or cluster and get every instance, unbounded."""
    dep = sqlite_deployment
    _add(dep, *(f"vm-{i:03d}" for i in range(205)))
    by_node = admin.get("/api/v1/instances", params={"node_id": dep.setup.node_id}).json()
    by_cluster = admin.get("/api/v1/instances", params={"cluster_id": dep.setup.cluster_id})
    assert len(by_node) == len(by_cluster.json()) == 205


def test_case_and_wildcards_on_every_backend(deployment: Deployment) -> None:
    """The selector itself, on SQLite and PostgreSQL (ILIKE there, lower() LIKE here)."""
    _add(deployment, "Web_1", "web-2", "50%")
    with transaction(deployment.factory) as db:

        def names(text: str, limit: int | None = None) -> set[str]:
            rows = q.instance_rows(db, UNSCOPED, name_contains=text, limit=limit)
            return {row.name for row in rows}  # a set: the backends' collations differ

        assert names("WEB") == {"Web_1", "web-2"}
        assert names("b_") == {"Web_1"}
        assert names("%") == {"50%"}
        assert len(names("", limit=2)) == 2
