"""Rendering big replies: the rendered-reply cache (a new version or the moment a reply
turns wrong renders afresh, concurrent misses render once) and the plain renderers, each
held to its schema field for field."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel

from cloudenv import clock
from cloudenv.api import rendering
from cloudenv.api.rendering import VersionedCache
from cloudenv.api.schemas.compute import Instance
from cloudenv.api.schemas.tenancy import OrganizationTree
from cloudenv.services.compute.instances import InstanceView
from cloudenv.services.tenancy.views import (
    ClusterView,
    DatacenterView,
    Location,
    NodeView,
    OrganizationView,
)
from cloudenv.services.tenancy.views import OrganizationTree as TreeView

pytestmark = pytest.mark.unit

WHEN = datetime(2026, 11, 24, 7, 21, 26, 123456, tzinfo=UTC)


def produce_counting(calls: list[int]) -> Any:
    def produce() -> tuple[list[int], None]:
        calls.append(1)
        return [len(calls)], None

    return produce


def test_same_version_reuses_and_new_version_renders() -> None:
    cache = VersionedCache()
    calls: list[int] = []
    produce = produce_counting(calls)
    assert cache.render("k", 1, produce).body == b"[1]"
    assert cache.render("k", 1, produce).body == b"[1]"
    assert cache.render("k", 2, produce).body == b"[2]"
    assert cache.render("other", 2, produce).body == b"[3]"
    assert len(calls) == 3


def test_an_unchanged_reply_is_kept_without_a_time_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    cache = VersionedCache()
    cache.put("k", 1, b"kept")
    later = clock.now() + timedelta(days=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert cache.get("k", 1) == b"kept"


def test_a_reply_ends_when_it_turns_wrong_by_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    cache = VersionedCache()
    now = clock.now()
    cache.put("k", 1, b"alive", valid_until=now + timedelta(seconds=5))
    monkeypatch.setattr(clock, "now", lambda: now + timedelta(seconds=5))
    assert cache.get("k", 1) == b"alive"
    monkeypatch.setattr(clock, "now", lambda: now + timedelta(seconds=5, microseconds=1))
    assert cache.get("k", 1) is None


def test_concurrent_misses_render_once() -> None:
    cache = VersionedCache()
    calls: list[int] = []
    start = threading.Barrier(6)

    def produce() -> tuple[list[int], None]:
        calls.append(1)
        time.sleep(0.05)
        return [7], None

    def worker() -> None:
        start.wait()
        assert cache.render("k", 5, produce).body == b"[7]"

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1


def schema_json(schema: type[BaseModel], record: Any) -> Any:
    return schema.model_validate(record, from_attributes=True).model_dump(mode="json")


def test_instance_entry_is_the_instance_schema() -> None:
    view = InstanceView(
        id="inst-1",
        node_id="node-1",
        organization_id="org-1",
        type=2,
        name="web-1",
        description="d",
        sockets=1,
        cores=2,
        threads=2,
        vcpus=4,
        memory=2048,
        creation=WHEN,
        autostart=True,
        boot_order=0,
        state="running",
        desired_state="running",
        state_message="",
        current_task_id=None,
    )
    entry = rendering.instance_entry(view)
    expected = Instance.model_validate(entry).model_dump(mode="json")
    assert entry == expected and list(entry) == list(expected)
    assert entry["creation"] == "2026-11-24T07:21:26Z"


def test_tree_entries_are_the_tree_schema() -> None:
    org = OrganizationView("org-1", "acme", "", WHEN, True)
    datacenters = [
        DatacenterView("dc-1", "org-1", "here", "", Location(52.5, 13.4), WHEN),
        DatacenterView("dc-2", "org-1", "nowhere", "", None, WHEN),
    ]
    nodes = [
        NodeView(
            "node-1",
            "org-1",
            "cls-1",
            "n1",
            "",
            "10.0.0.1",
            None,
            WHEN,
            True,
            WHEN,
            False,
            "key",
            "cert",
        ),
        NodeView(
            "node-2", "org-1", "cls-1", "n2", "", None, None, WHEN, False, None, True, None, None
        ),
    ]
    clusters = [
        ClusterView("cls-1", "org-1", "dc-1", "c", "", WHEN, 2, 0, False, None, False, "degraded")
    ]
    tree = TreeView(org, datacenters, clusters, nodes)

    entries = rendering.tree_entries([tree])

    expected = schema_json(OrganizationTree, tree)
    assert entries == [expected]
    for key in ("organization",):
        assert list(entries[0][key]) == list(expected[key])
    for key in ("datacenters", "clusters", "nodes"):
        assert list(entries[0][key][0]) == list(expected[key][0])
    assert "ssh_key" not in entries[0]["nodes"][0]


def test_node_summary_rows_are_read_in_the_order_node_view_expects() -> None:
    from cloudenv.store.queries.tenancy import NODE_SUMMARY_COLUMNS

    assert [c.key for c in NODE_SUMMARY_COLUMNS] == [
        "id",
        "organization_id",
        "cluster_id",
        "name",
        "description",
        "ip_address",
        "wol_mac",
        "creation",
        "last_seen",
        "joining",
        "ssh_key",
        "client_cert",
    ]
