"""Where nodes sit (datacenter, cluster, node), read once per process and database: the
paths authorization matches policies against."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from cloudenv.store.engine import transaction
from cloudenv.store.queries import tenancy as q
from tests.conftest import Deployment
from tests.support.principals import add_branch

pytestmark = pytest.mark.unit


def _node_reads(dep: Deployment) -> list[str]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "FROM nodes" in statement:
            seen.append(statement)

    event.listen(dep.daemon.engine, "before_cursor_execute", record)
    return seen


def test_a_nodes_place_is_read_once_then_kept(sqlite_deployment: Deployment) -> None:
    dep = sqlite_deployment
    setup = dep.setup
    reads = _node_reads(dep)
    with transaction(dep.factory) as db:
        assert q.node_path(db, setup.node_id) == (
            setup.datacenter_id,
            setup.cluster_id,
            setup.node_id,
        )
    assert len(reads) == 1
    with transaction(dep.factory) as db:
        assert q.node_path(db, setup.node_id) is not None
        assert q.node_path(db, "node-missing") is None  # asked for, not found: no path
    assert len(reads) == 2  # the missing one only
    west = add_branch(dep, "west")
    with transaction(dep.factory) as db:
        both = q.node_paths(db, [setup.node_id, west.node])
    assert both[west.node] == (west.datacenter, west.cluster, west.node)
    assert len(reads) == 3  # the new node only


def test_each_database_has_its_own_places(tmp_path: Any) -> None:
    """Test databases are copies of one template (the same node IDs): what one engine
    learnt must not answer for another."""
    from cloudenv.config import sqlite_url
    from tests.conftest import make_deployment

    first = make_deployment(tmp_path / "a", sqlite_url(tmp_path / "a"))
    second = make_deployment(tmp_path / "b", sqlite_url(tmp_path / "b"))
    try:
        node = first.setup.node_id
        assert second.setup.node_id == node
        with transaction(first.factory) as db:
            assert q.node_path(db, node) is not None
        reads = _node_reads(second)
        with transaction(second.factory) as db:
            assert q.node_path(db, node) is not None
        assert len(reads) == 1
    finally:
        first.daemon.engine.dispose()
        second.daemon.engine.dispose()
