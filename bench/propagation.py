"""Storage pool propagation: how long a new pool takes to turn green, and what one
propagation pass costs the database.

1. **One real node.** ``cloudenv init`` + ``cloudenv serve`` (subprocesses, real libvirt:
   ``scripts/start-libvirt.sh`` is run first) in a throwaway data dir under
   /var/lib/cloudenv-test; a directory pool in that dir is created, then enabled on the
   node, and the time from the PATCH to the first ``GET`` that shows ``ok`` is measured
   (``--rounds`` pools; each is disabled and destroyed after).
2. **50 simulated nodes.** One daemon in this process (SQLite, the fake drivers): the node
   ``init`` made plus 49 node rows of the same cluster, each with its own agent on a
   ``FakeStorageDriver``. A pool enabled on all 50 nodes in one PATCH: time to ``ok``. The
   node whose API took the PATCH is nudged; the others' agents find their task by polling,
   as another node's agent would.
3. **Queries per pass**, counted with a ``before_cursor_execute`` listener (only the
   statements of the thread running the pass): a pass with nothing to do (every pool
   ready), and one that queues a sync on each of the 50 nodes.

Prints figures only (no thresholds).

    .venv/bin/python bench/propagation.py [--rounds 3] [--nodes 50] [--skip-real]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, update

# Run as ``python bench/propagation.py``: put the repo root on sys.path for tests/support.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import seeding  # noqa: E402
from tests.support.served_node import ADMIN_PASSWORD  # noqa: E402

from cloudenv import clock  # noqa: E402
from cloudenv.agent.drivers import Drivers  # noqa: E402
from cloudenv.agent.loop import Agent  # noqa: E402
from cloudenv.config import Settings, sqlite_url  # noqa: E402
from cloudenv.daemon import build  # noqa: E402
from cloudenv.drivers.compute.fake import FakeComputeDriver  # noqa: E402
from cloudenv.drivers.storage.fake import FakeStorageDriver  # noqa: E402
from cloudenv.enums import PoolNodeStatus  # noqa: E402
from cloudenv.ids import Prefix, new_id  # noqa: E402
from cloudenv.services.storage import propagation  # noqa: E402
from cloudenv.store.engine import transaction  # noqa: E402
from cloudenv.store.tables import Node, PoolNode  # noqa: E402

SETTLE_SECONDS = 300.0


def _until_ok(client: httpx.Client | TestClient, pool_id: str, started: float) -> float:
    """Seconds from ``started`` to the first reply whose status is ok."""
    while time.monotonic() - started < SETTLE_SECONDS:
        pool = _get(client, pool_id)
        if pool["status"] == "ok":
            return time.monotonic() - started
        if pool["status"] == "error":
            raise RuntimeError(f"pool turned red: {pool['nodes']}")
        time.sleep(0.05)
    raise RuntimeError(f"pool not green within {SETTLE_SECONDS} s")


# 1. One real node --------------------------------------------------------------------------------


def real_node(rounds: int) -> list[float]:
    from tests.support.compute import real_node_dir
    from tests.support.libvirt import ensure_libvirtd
    from tests.support.served_node import serving

    ensure_libvirtd()
    times = []
    with real_node_dir() as node_dir, serving(node_dir) as server, server.admin() as client:
        node_id = server.health["id"]
        cluster = client.get(f"/api/v1/nodes/{node_id}").json()["node"]["cluster_id"]
        for index in range(rounds):
            path = server.node.path / "pools" / f"bench-{index}"
            created = client.post(
                f"/api/v1/clusters/{cluster}/storage_pools",
                json={"name": f"bench-{index}", "type": 0, "config": {"path": str(path)}},
            )
            created.raise_for_status()
            pool_id = created.json()["id"]
            started = time.monotonic()
            client.patch(f"/api/v1/storage_pools/{pool_id}", json={"node_ids": [node_id]})
            times.append(_until_ok(client, pool_id, started))
            client.patch(f"/api/v1/storage_pools/{pool_id}", json={"node_ids": []})
            while _get(client, pool_id)["status"] != "none":
                time.sleep(0.1)
            client.delete(f"/api/v1/storage_pools/{pool_id}")
    return times


def _get(client: httpx.Client | TestClient, pool_id: str) -> dict[str, Any]:
    reply: dict[str, Any] = client.get(f"/api/v1/storage_pools/{pool_id}").json()
    return reply


# 2. Simulated nodes ------------------------------------------------------------------------------


def _fake_drivers() -> Drivers:
    return Drivers(FakeComputeDriver(), FakeStorageDriver())


@contextmanager
def simulated_cluster(work: Path, nodes: int) -> Iterator[tuple[Any, TestClient, list[str]]]:
    """A daemon on the fake drivers with ``nodes`` nodes in its cluster, every agent
    running; yields (daemon, signed-in client, node IDs)."""
    node_id = new_id(Prefix.NODE)
    settings = Settings(
        data_dir=work, node_id=node_id, database_url=sqlite_url(work), management_ip="127.0.0.1"
    )
    daemon = build(settings, drivers=_fake_drivers())
    result = seeding.initialize(daemon, settings, ADMIN_PASSWORD)
    node_ids = [node_id]
    with transaction(daemon.session_factory) as db:
        for index in range(1, nodes):
            node = Node(
                id=new_id(Prefix.NODE),
                organization_id=result.organization_id,
                cluster_id=result.cluster_id,
                name=f"node-{index}",
                description="",
                ip_address=f"10.0.0.{index}",
                hardware={},
                host={},
                creation=clock.now(),
                last_seen=clock.now(),
            )
            db.add(node)
            node_ids.append(node.id)
    others = [Agent(n, daemon.session_factory, _fake_drivers()) for n in node_ids[1:]]
    with TestClient(daemon.app, base_url="https://testserver") as client:  # starts node-0's agent
        for agent in others:
            agent.start()
        try:
            reply = client.post(
                "/api/v1/auth/login", json={"username": "pceadmin", "password": ADMIN_PASSWORD}
            )
            client.headers["Authorization"] = f"Bearer {reply.json()['token']}"
            yield daemon, client, node_ids
        finally:
            for agent in others:
                agent.stop()
    daemon.engine.dispose()


def simulated(work: Path, nodes: int, rounds: int) -> tuple[list[float], dict[str, int]]:
    times = []
    with simulated_cluster(work, nodes) as (daemon, client, node_ids):
        cluster = client.get(f"/api/v1/nodes/{node_ids[0]}").json()["node"]["cluster_id"]
        url = f"/api/v1/clusters/{cluster}/storage_pools"
        for index in range(rounds):
            created = client.post(
                url, json={"name": f"sim-{index}", "type": 0, "config": {"path": f"/sim/{index}"}}
            )
            pool_id = created.json()["id"]
            started = time.monotonic()
            client.patch(f"/api/v1/storage_pools/{pool_id}", json={"node_ids": node_ids})
            times.append(_until_ok(client, pool_id, started))
        daemon.agent.stop()  # (the other agents stop as the cluster closes)
        counts = count_pass_queries(daemon.engine, daemon.session_factory, node_ids)
    return times, counts


# 3. Queries per pass -----------------------------------------------------------------------------


@contextmanager
def counting(engine: Engine) -> Iterator[list[str]]:
    """Statements this thread sends while inside the block."""
    me, seen = threading.get_ident(), []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if threading.get_ident() == me:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def count_pass_queries(engine: Engine, factory: Any, node_ids: list[str]) -> dict[str, int]:
    """One pass with nothing to do, and one that queues a sync on every node (their
    agents are stopped by then, so nothing runs the tasks meanwhile). Far in the future,
    so this thread takes the lease whoever held it."""
    later = clock.now().replace(year=clock.now().year + 1)
    figures = {}
    with counting(engine) as seen, transaction(factory) as db:
        result = propagation.run_pass(db, node_ids[0], now=later)
    if not result.ran or result.queued:
        raise RuntimeError(f"expected a pass with nothing to do, got {result}")
    figures["steady pass (all ready)"] = len(seen)
    with transaction(factory) as db:
        db.execute(
            update(PoolNode)
            .where(PoolNode.node_id.in_(node_ids))
            .values(status=PoolNodeStatus.PENDING)
        )
    with counting(engine) as seen, transaction(factory) as db:
        result = propagation.run_pass(db, node_ids[0], now=later)
    figures[f"pass queuing {len(result.queued)} syncs"] = len(seen)
    return figures


def _summary(times: list[float]) -> str:
    shown = ", ".join(f"{t:.2f}" for t in times)
    return f"median {statistics.median(times):.2f} s (runs: {shown})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="pools timed per setting (3)")
    parser.add_argument("--nodes", type=int, default=50, help="simulated nodes (50)")
    parser.add_argument("--skip-real", action="store_true", help="no libvirt part")
    args = parser.parse_args(argv)
    if not args.skip_real:
        print(f"1 real node (libvirt, directory pool): {_summary(real_node(args.rounds))}")
    with tempfile.TemporaryDirectory(prefix="cloudenv-bench-") as work:
        times, counts = simulated(Path(work), args.nodes, args.rounds)
    print(f"{args.nodes} simulated nodes (fake driver): {_summary(times)}")
    for what, count in counts.items():
        print(f"SQL statements, {what}: {count}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
