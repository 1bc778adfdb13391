"""API latency of a served node: ``GET /api/v1/organizations`` and ``GET /api/v1/nodes/{id}``.

Sets up a throwaway node in a temporary data dir with the real commands (``cloudenv init``,
then ``cloudenv serve`` on a free loopback port), seeds it through the ORM with a deployment
of the size a UI lists at once (100 datacenters, 1,000 nodes over 100 clusters by default),
signs in, warms up, and measures each endpoint with a pool of keep-alive HTTPS clients in
threads. Prints count, p50/p99 latency, requests/s and response size per endpoint, then
stops the daemon and deletes the data dir (unless ``--keep``).

Everything stays on 127.0.0.1; the run is bounded by ``--requests`` and ``--max-seconds``
per endpoint. The client threads share the machine with the daemon, so figures from a
small box are a floor, not a capacity.

    .venv/bin/python bench/api_latency.py [--requests 2000] [--concurrency 8]
        [--datacenters 100] [--nodes 1000] [--database-url postgresql://...] [--keep]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import select

from cloudenv import clock
from cloudenv.config import Settings
from cloudenv.ids import Prefix, new_id
from cloudenv.store.engine import make_engine, make_session_factory, transaction
from cloudenv.store.tables import Cluster, Datacenter, Node, Organization
from cloudenv.tls import client_ssl_context

# Run as ``python bench/api_latency.py``, the script's dir is on sys.path, not the repo root:
# put the root there for the node plumbing shared with the integration tests.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.served_node import (  # noqa: E402
    ADMIN_PASSWORD,
    ServedNodeError,
    Server,
    init_node,
    start_server,
)

START_TIMEOUT = 60.0  # seconds for the daemon to answer its healthcheck
NODES_PER_CLUSTER_MAX = 64

SMALL_HARDWARE = {
    "vcpus": 16,
    "cpu": {
        "manufacturer": "AMD",
        "brand": "AMD EPYC 7302",
        "speed": {"current": 3.0},
        "governor": "performance",
        "cores": {"physical": 16, "performance": 16, "efficiency": 0},
        "processors": 16,
        "sockets": 1,
        "flags": ["avx2", "svm"],
        "virtualization": True,
    },
    "memory": [],
    "disks": [],
    "usb": [],
    "memory_total_mb": 65536,
}


# Set-up ------------------------------------------------------------------------------------------


def seed(data_dir: Path, datacenters: int, nodes: int) -> list[str]:
    """Insert ``datacenters`` datacenters in the root organization, one or more clusters in
    each, and ``nodes`` nodes spread round-robin over the clusters; returns the node IDs
    (the node set up by init first)."""
    settings = Settings.load(data_dir)
    engine = make_engine(settings.database_url)
    now = clock.now()
    try:
        with transaction(make_session_factory(engine)) as db:
            org_id = db.scalars(select(Organization.id).where(Organization.is_root)).one()
            dcs = [
                Datacenter(
                    id=new_id(Prefix.DATACENTER),
                    organization_id=org_id,
                    name=f"bench-dc-{i:04d}",
                    description="Seeded by bench/api_latency.py.",
                    latitude=round(-60 + (i * 7.3) % 120, 4),
                    longitude=round(-170 + (i * 13.1) % 340, 4),
                    creation=now,
                )
                for i in range(datacenters)
            ]
            db.add_all(dcs)
            db.flush()
            per_dc = max(1, -(-nodes // max(1, datacenters) // NODES_PER_CLUSTER_MAX))
            clusters = [
                Cluster(
                    id=new_id(Prefix.CLUSTER),
                    organization_id=org_id,
                    datacenter_id=dc.id,
                    name=f"bench-cls-{i:04d}-{j}",
                    description="",
                    creation=now,
                )
                for i, dc in enumerate(dcs)
                for j in range(per_dc)
            ]
            db.add_all(clusters)
            db.flush()
            node_ids = [settings.node_id]
            for i in range(nodes if clusters else 0):
                cluster = clusters[i % len(clusters)]
                node = Node(
                    id=new_id(Prefix.NODE),
                    organization_id=org_id,
                    cluster_id=cluster.id,
                    name=f"bench-node-{i:05d}",
                    description="",
                    ip_address=f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}",
                    last_seen=now,
                    hardware=SMALL_HARDWARE,
                    host={
                        "hostname": f"bench-node-{i:05d}",
                        "os": {"kernel": "6.1.0-26-amd64", "architecture": "x86_64", "uefi": True},
                        "boot_time": int(now.timestamp()) - 86_400,
                        "timezone": "Etc/UTC",
                    },
                    creation=now,
                )
                db.add(node)
                node_ids.append(node.id)
            db.flush()
    finally:
        engine.dispose()
    return node_ids


# Measuring ---------------------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    latencies: list[float] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    errors: int = 0
    wall: float = 0.0
    cut_short: bool = False


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile of ``values`` (not empty)."""
    ordered = sorted(values)
    rank = max(1, round(pct / 100 * len(ordered) + 0.5))
    return ordered[min(rank, len(ordered)) - 1]


class ClientPool:
    """One keep-alive HTTPS client per worker thread, all signed in with the same token."""

    def __init__(self, url: str, ca: Path, token: str) -> None:
        self.url, self.ca, self.token = url, ca, token
        self.local = threading.local()
        self.clients: list[httpx.Client] = []
        self.lock = threading.Lock()

    def get(self) -> httpx.Client:
        client: httpx.Client | None = getattr(self.local, "client", None)
        if client is None:
            client = httpx.Client(
                base_url=self.url,
                verify=client_ssl_context(self.ca),
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=60.0,
            )
            self.local.client = client
            with self.lock:
                self.clients.append(client)
        return client

    def close(self) -> None:
        for client in self.clients:
            client.close()


def measure(
    name: str,
    path_for: Callable[[int], str],
    pool: ClientPool,
    requests: int,
    concurrency: int,
    max_seconds: float,
) -> Result:
    """``requests`` GETs of ``path_for(i)`` over ``concurrency`` threads, stopping early at
    ``max_seconds``."""
    result = Result(name)
    counter = iter(range(requests))
    take = threading.Lock()
    deadline = time.monotonic() + max_seconds

    def worker() -> None:
        client = pool.get()
        while True:
            with take:
                i = next(counter, None)
            if i is None:
                return
            if time.monotonic() > deadline:
                result.cut_short = True
                return
            start = time.perf_counter()
            try:
                response = client.get(path_for(i))
                ok = response.status_code == 200
                body = response.content
            except httpx.HTTPError:
                ok, body = False, b""
            elapsed = time.perf_counter() - start
            with take:
                if ok:
                    result.latencies.append(elapsed)
                    result.sizes.append(len(body))
                else:
                    result.errors += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as executor:
        for future in [executor.submit(worker) for _ in range(concurrency)]:
            future.result()
    result.wall = time.perf_counter() - started
    return result


def report(result: Result) -> str:
    if not result.latencies:
        return f"{result.name:<28} no successful request ({result.errors} errors)"
    ms = [v * 1000 for v in result.latencies]
    sizes = sorted(result.sizes)
    size = (
        f"{sizes[0]:,} B"
        if sizes[0] == sizes[-1]
        else f"{sizes[0]:,}-{sizes[-1]:,} B (median {sizes[len(sizes) // 2]:,})"
    )
    line = (
        f"{result.name:<28} n={len(ms):<6} p50={percentile(ms, 50):8.2f} ms  "
        f"p99={percentile(ms, 99):8.2f} ms  {len(ms) / result.wall:8.1f} req/s  size {size}"
    )
    if result.errors:
        line += f"  errors={result.errors}"
    if result.cut_short:
        line += "  (stopped at --max-seconds)"
    return line


# Main --------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="per endpoint (2000)")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads (8)")
    parser.add_argument("--datacenters", type=int, default=100, help="seeded (100)")
    parser.add_argument("--nodes", type=int, default=1000, help="seeded (1000)")
    parser.add_argument(
        "--database-url", default=None, help="an EMPTY PostgreSQL database; default SQLite"
    )
    parser.add_argument("--warmup", type=int, default=50, help="requests per endpoint (50)")
    parser.add_argument(
        "--max-seconds", type=float, default=300.0, help="time bound per endpoint (300)"
    )
    parser.add_argument("--log-level", default="warning", help="cloudenv serve's (warning)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    args = parser.parse_args(argv)
    for name in ("requests", "concurrency"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.datacenters < 0 or args.nodes < 0 or args.warmup < 0 or args.max_seconds <= 0:
        parser.error("--datacenters, --nodes, --warmup must be >= 0, --max-seconds > 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="cloudenv-bench-"))
    daemon: Server | None = None
    pool: ClientPool | None = None
    try:
        database = "PostgreSQL" if args.database_url else "SQLite (in the data dir)"
        print("cloudenv API latency benchmark")
        print(
            f"  machine: os.cpu_count()={os.cpu_count()}  {platform.machine()}  "
            f"Python {platform.python_version()}  (client threads share it with the daemon)"
        )
        print(f"  database: {database}  seed: {args.datacenters} datacenters, {args.nodes} nodes")
        print(
            f"  load: {args.requests} requests/endpoint, concurrency {args.concurrency}, "
            f"warm-up {args.warmup}, keep-alive HTTPS on 127.0.0.1, serve --log-level "
            f"{args.log_level}"
        )
        started = time.perf_counter()
        try:
            node = init_node(work, database_url=args.database_url)
            node_ids = seed(node.path, args.datacenters, args.nodes)
            print(f"  set-up: init + seed {time.perf_counter() - started:.1f} s")
            daemon = start_server(
                node, extra_args=["--log-level", args.log_level], start_timeout=START_TIMEOUT
            )
        except ServedNodeError as exc:
            raise SystemExit(str(exc)) from None
        ca = node.ca
        login = httpx.post(
            daemon.url + "/api/v1/auth/login",
            json={"username": "pceadmin", "password": ADMIN_PASSWORD},
            verify=client_ssl_context(ca),
        )
        login.raise_for_status()
        pool = ClientPool(daemon.url, ca, login.json()["token"])

        trees = pool.get().get("/api/v1/organizations").json()
        seen = sum(len(t["nodes"]) for t in trees)
        print(f"  served tree: {len(trees)} organization(s), {seen} nodes")

        endpoints: list[tuple[str, Callable[[int], str]]] = [
            ("GET /api/v1/organizations", lambda _i: "/api/v1/organizations"),
            ("GET /api/v1/nodes/{id}", lambda i: f"/api/v1/nodes/{node_ids[i % len(node_ids)]}"),
        ]
        print()
        for name, path_for in endpoints:
            if args.warmup:
                measure(name, path_for, pool, args.warmup, args.concurrency, args.max_seconds)
            result = measure(
                name, path_for, pool, args.requests, args.concurrency, args.max_seconds
            )
            print(report(result), flush=True)
        return 0
    finally:
        if pool is not None:
            pool.close()
        if daemon is not None:
            code = daemon.stop(signal.SIGINT)  # Ctrl-C, as an operator stops it by hand
            if code != 0:
                tail = daemon.log().splitlines()[-10:]
                print(f"  cloudenv serve exited with {code}; its log ends:", *tail, sep="\n    ")
        if args.keep:
            print(f"  kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
