"""Usage monitoring: what one sampling pass costs, how many database rows it writes, and
how fast the history answers.

One daemon in this process (SQLite in a throwaway data dir, the fake drivers, its agent
not running), one node, N running instances (rows in the store, domains in the
``FakeComputeDriver``). The sampler is the agent's own (``agent/metrics.py``: psutil for
the node, one ``bulk_stats()`` call for the instances, the store's write, roll-ups and
retention), driven by a fake clock 10 s per pass.

1. **CPU per pass** at 1, 100 and 1,000 instances (``time.process_time``: the pass's
   own CPU, SQLite's included): median, 90th percentile and worst of the 10 s passes
   from 23:50 to 00:02 after a day of history, so they roll up minutes, 5 minutes and, at
   midnight, every tier (one a pass); the worst of those that rolled something up; and
   the interpreter's full collections that ran inside a pass.
2. **Rows written per hour**, per node (counted by the store, whatever the number of
   instances), over one simulated day of 10 s passes at 1 instance; next to what one row
   per instance per sample would take.
3. **History queries**: 32 days of history for the node with 1,000 instances (passes
   every 30 min, then the last 70 minutes every 10 s, so each tier holds what it would),
   then each range of ``GET /v1/nodes/{id}/metrics`` (service call, median of 20; and
   over HTTP) and an instance's 30 days; and the bytes the history takes per tier.

Prints figures only (no thresholds).

    .venv/bin/python bench/metrics.py [--sizes 1,100,1000] [--skip-history]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import insert

# Run as ``python bench/metrics.py``: put the repo root on sys.path for tests/support.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import seeding  # noqa: E402
from tests.support.served_node import ADMIN_PASSWORD  # noqa: E402

from cloudenv.agent.drivers import Drivers  # noqa: E402
from cloudenv.agent.metrics import MetricsSampler  # noqa: E402
from cloudenv.config import Settings, sqlite_url  # noqa: E402
from cloudenv.daemon import Daemon, build  # noqa: E402
from cloudenv.drivers.compute.base import (  # noqa: E402
    Accelerator,
    DomainSpec,
    InterfaceSpec,
    PortVlan,
    PowerState,
    QemuConfig,
    VlanMode,
)
from cloudenv.drivers.compute.fake import FakeComputeDriver  # noqa: E402
from cloudenv.drivers.storage.fake import FakeStorageDriver  # noqa: E402
from cloudenv.ids import Prefix, new_id  # noqa: E402
from cloudenv.services.access import SYSTEM  # noqa: E402
from cloudenv.services.monitoring import queries  # noqa: E402
from cloudenv.services.monitoring.layout import TIERS, Interval  # noqa: E402
from cloudenv.store.engine import transaction  # noqa: E402
from cloudenv.store.queries import metrics as metric_rows  # noqa: E402
from cloudenv.store.tables import Instance  # noqa: E402

#: Midnight UTC, so the simulated passes close buckets where the real ones would.
T0 = datetime(2027, 1, 1, tzinfo=UTC)


@dataclass
class Node:
    daemon: Daemon
    node_id: str
    instance_ids: list[str]
    sampler: MetricsSampler
    clock: list[datetime]  # the fake clock's one value

    def tick(self, seconds: float = 10.0) -> None:
        self.clock[0] += timedelta(seconds=seconds)


@contextmanager
def simulated_node(work: Path, instances: int) -> Iterator[Node]:
    work.mkdir(parents=True, exist_ok=True)
    node_id = new_id(Prefix.NODE)
    settings = Settings(
        data_dir=work, node_id=node_id, database_url=sqlite_url(work), management_ip="127.0.0.1"
    )
    compute = FakeComputeDriver()
    daemon = build(settings, run_agent=False, drivers=Drivers(compute, FakeStorageDriver()))
    result = seeding.initialize(daemon, settings, ADMIN_PASSWORD)
    ids = [new_id(Prefix.INSTANCE) for _ in range(instances)]
    with transaction(daemon.session_factory) as db:
        rows = [_instance_row(result.organization_id, node_id, i, n) for n, i in enumerate(ids)]
        if rows:
            db.execute(insert(Instance), rows)
    spec = DomainSpec(
        name="bench",
        uuid=str(uuid.uuid4()),
        title="bench",
        vcpus_sockets=1,
        vcpus_cores=2,
        vcpus_threads=1,
        memory_mb=2048,
        accelerator=Accelerator.TCG,
        config=QemuConfig(),
        interfaces=(
            InterfaceSpec(
                mac="52:54:00:00:00:01", bridge="vswitch0", vlan=PortVlan(VlanMode.UNTAGGED)
            ),
        ),
    )
    for i in ids:  # running guests
        compute.domains[i] = replace(spec, name=i)
        compute.states[i] = PowerState.RUNNING
    fake_clock = [T0]
    sampler = MetricsSampler(
        node_id, daemon.session_factory, daemon.agent.drivers, now=lambda: fake_clock[0]
    )
    try:
        yield Node(daemon, node_id, ids, sampler, fake_clock)
    finally:
        daemon.engine.dispose()


def _instance_row(org_id: str, node_id: str, instance_id: str, n: int) -> dict[str, Any]:
    return {
        "id": instance_id,
        "organization_id": org_id,
        "node_id": node_id,
        "name": f"bench-vm-{n:05d}",
        "description": "",
        "type": 2,
        "architecture": "x86_64",
        "uuid": str(uuid.uuid4()),
        "cpu_sockets": 1,
        "cpu_cores": 2,
        "cpu_threads": 1,
        "memory_mb": 2048,
        "autostart": False,
        "config": {},
        "desired_state": "running",
        "state": "running",
        "state_message": "",
        "current_task_id": None,
        "creation": T0,
    }


def _cpu(call: Callable[[], Any]) -> float:
    started = time.process_time()
    call()
    return time.process_time() - started


# 1. CPU per pass ---------------------------------------------------------------------------------


@contextmanager
def collections() -> Iterator[list[float]]:
    """CPU seconds of each full (generation 2) collection of the interpreter meanwhile."""
    taken: list[float] = []
    began = [0.0]

    def watch(phase: str, info: dict[str, Any]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            began[0] = time.process_time()
        else:
            taken.append(time.process_time() - began[0])

    gc.callbacks.append(watch)
    try:
        yield taken
    finally:
        gc.callbacks.remove(watch)


def pass_cost(work: Path, instances: int) -> tuple[list[float], list[float], list[float], int]:
    """A day of passes every 30 minutes (so every tier has rows to roll up), then the
    passes every 10 s from 23:50 to 00:02, measured: CPU seconds of each; of those that
    rolled something up (each minute, 5 minutes, and at midnight each tier in turn); of
    each full collection the interpreter ran within one (a whole process's cost that lands
    in whichever code allocates at the time); the rows they wrote."""
    with simulated_node(work, instances) as node:
        for _ in range(47):
            node.sampler.sample()
            node.tick(1800)
        node.clock[0] = T0 + timedelta(hours=23, minutes=50)
        node.sampler.sample()  # catches up with what the coarse passes left
        node.tick()
        costs, rolling, rows = [], [], 0
        with collections() as full:
            for _ in range(72):
                before = sum(full)
                cost = _cpu(node.sampler.sample)
                costs.append(cost)
                if node.sampler.rows_written > 2:
                    rolling.append(cost - (sum(full) - before))  # the pass's own
                rows += node.sampler.rows_written
                node.tick()
    return costs, rolling, full, rows


# 2. Rows per hour --------------------------------------------------------------------------------


def rows_per_hour(work: Path) -> tuple[float, dict[int, int]]:
    """Over a simulated day of 10 s passes: rows written per hour, and rows kept per tier."""
    with simulated_node(work, 1) as node:
        written = 0
        for _ in range(8640):
            node.sampler.sample()
            written += node.sampler.rows_written
            node.tick()
        with transaction(node.daemon.session_factory) as db:
            kept = {t: n for t, (n, _) in metric_rows.count_rows(db, node.node_id).items()}
    return written / 24, kept


# 3. History queries ------------------------------------------------------------------------------


def fill_history(node: Node) -> None:
    """32 days of passes every 30 minutes, then 70 minutes of passes every 10 s."""
    for _ in range(32 * 48):
        node.sampler.sample()
        node.tick(1800)
    for _ in range(420):
        node.sampler.sample()
        node.tick()


def median_time(call: Callable[[], Any], rounds: int = 20) -> tuple[float, float]:
    """Median wall and CPU seconds of ``call``."""
    walls, cpus = [], []
    for _ in range(rounds):
        started, cpu = time.perf_counter(), time.process_time()
        call()
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def history(work: Path, instances: int) -> None:
    with simulated_node(work, instances) as node:
        started = time.monotonic()
        fill_history(node)
        print(f"  (history of 32 days written in {time.monotonic() - started:.0f} s)")
        from cloudenv import clock

        clock.now = lambda: node.clock[0]  # type: ignore[assignment]
        factory = node.daemon.session_factory

        def node_query(interval: Interval) -> Callable[[], Any]:
            def run() -> Any:
                with transaction(factory) as db:
                    return queries.node_history(db, SYSTEM, node.node_id, interval)

            return run

        print(f"  {'range':>5}  {'points':>6}  {'service ms (wall/cpu)':>22}  {'HTTP ms':>8}")
        with TestClient(node.daemon.app, base_url="https://testserver") as client:
            reply = client.post(
                "/api/v1/auth/login", json={"username": "pceadmin", "password": ADMIN_PASSWORD}
            )
            client.headers["Authorization"] = f"Bearer {reply.json()['token']}"
            url = f"/api/v1/nodes/{node.node_id}/metrics"
            for interval in Interval:
                points = len(node_query(interval)()[0].data)
                wall, cpu = median_time(node_query(interval))
                http, _ = median_time(lambda i=interval: client.get(url, params={"interval": i}))
                print(
                    f"  {interval.value:>5}  {points:>6}  "
                    f"{wall * 1000:>10.1f} / {cpu * 1000:<9.1f}  {http * 1000:>8.1f}"
                )
            one = node.instance_ids[len(node.instance_ids) // 2]

            def instance_query() -> Any:
                with transaction(factory) as db:
                    return queries.instance_history(db, SYSTEM, one, Interval.THIRTY_DAYS)

            wall, cpu = median_time(instance_query)
            print(
                f"  an instance's 30d (among {instances}): {wall * 1000:.1f} ms wall / "
                f"{cpu * 1000:.1f} ms CPU ({len(instance_query()[0].data)} points)"
            )
        with transaction(factory) as db:
            counted = metric_rows.count_rows(db, node.node_id)
        print("  history kept per tier (rows, MB; the daily tier holds 32 of its 400 days):")
        total = 0
        for tier in TIERS:
            rows, size = counted.get(tier.level, (0, 0))
            bound = tier.keep // tier.step
            per_row = size / rows if rows else 0
            total += bound * per_row
            print(
                f"    tier {tier.level} ({tier.step:>5} s, kept {tier.keep // 3600:>4} h): "
                f"{rows:>5} rows, {size / 1e6:7.1f} MB; full: {bound:>4} rows, "
                f"{bound * per_row / 1e6:7.1f} MB"
            )
        print(f"  bound at steady state (a year and after): {total / 1e6:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1,100,1000")
    parser.add_argument("--history-size", type=int, default=1000)
    parser.add_argument("--skip-history", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="cloudenv-bench-metrics-") as tmp:
        root = Path(tmp)
        print("1. CPU per sampling pass (10 s passes from 23:50 to 00:02, after a day of history)")
        print(
            f"  {'instances':>9}  {'median ms':>9}  {'p90 ms':>7}  {'worst ms':>8}  "
            f"{'worst rolling up (less GC)':>26}  {'full GCs in passes':>18}  rows/pass"
        )
        for size in sizes:
            costs, rolling, full, rows = pass_cost(root / f"pass-{size}", size)
            ordered = sorted(costs)
            collected = f"{len(full)} x {statistics.mean(full) * 1000:.0f} ms" if full else "0"
            print(
                f"  {size:>9}  {statistics.median(costs) * 1000:>9.1f}  "
                f"{ordered[int(len(ordered) * 0.9)] * 1000:>7.1f}  {max(costs) * 1000:>8.1f}  "
                f"{max(rolling) * 1000:>26.1f}  {collected:>18}  {rows / len(costs):.2f}"
            )
        print("2. Database rows written per hour, per node (a simulated day)")
        per_hour, kept = rows_per_hour(root / "rows")
        print(f"  {per_hour:.0f} rows/hour whatever the number of instances", end="")
        print(f" (one row per instance per sample: 360 x instances, {360 * 1000:,} at 1,000)")
        print(f"  rows kept per tier after the day: {kept}")
        if not args.skip_history:
            print(f"3. History queries, a node with {args.history_size} instances")
            history(root / "history", args.history_size)


if __name__ == "__main__":
    main()
