"""API latency of a served node: the tree, instance lists, a node's detail, and the floor.

Sets up a throwaway node in a temporary data dir with the real commands (``cloudenv init``,
then ``cloudenv serve`` on a free loopback port), seeds it with a deployment of the size a UI
lists at once (100 datacenters, 1,000 nodes over 100 clusters and 10,000 instances by
default: 500 on one node, the rest spread over the nodes), signs in, warms up, and measures
each endpoint with a pool of keep-alive HTTPS clients in threads:

- the tree, ``GET /api/v1/organizations``;
- ``GET /api/v1/instances?node_id=`` of the node holding 500 instances;
- ``GET /api/v1/instances?cluster_id=`` of that node's cluster;
- ``GET /api/v1/nodes/{id}`` over every node;
- the floor: a bare HTTPS server (another process, the node's certificate) sending the
  tree's bytes, i.e. what TLS, HTTP and the clients cost without any cloudenv code.

Prints count, p50/p99 latency, requests/s and response size per endpoint and the summary
table of the issue, then stops the daemon and deletes the data dir (unless ``--keep``).

Everything stays on 127.0.0.1; the run is bounded by ``--requests`` and ``--max-seconds``
per endpoint. The client threads share the machine with the daemon, so figures from a
small box are a floor, not a capacity.

    .venv/bin/python bench/api_latency.py [--requests 2000] [--concurrency 4]
        [--datacenters 100] [--nodes 1000] [--instances 10000] [--hot-node-instances 500]
        [--workers N] [--database-url postgresql://...] [--keep]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import ssl
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing import Process, Queue
from pathlib import Path
from typing import Any

import httpx

from cloudenv.config import Settings
from cloudenv.tls import client_ssl_context

# Run as ``python bench/api_latency.py``, the script's dir is on sys.path, not the repo root:
# put the root there for the node plumbing shared with the integration tests.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.seeding import seed  # noqa: E402
from tests.support.served_node import (  # noqa: E402
    ADMIN_PASSWORD,
    ServedNodeError,
    Server,
    init_node,
    start_server,
)

START_TIMEOUT = 60.0  # seconds for the daemon to answer its healthcheck


# The floor ---------------------------------------------------------------------------------------


def _floor_server(body: bytes, cert: str, key: str, ready: Queue[int]) -> None:
    """Serve ``body`` to every GET over keep-alive HTTPS on a free loopback port (run in its
    own process, as the daemon is); puts the port on ``ready``."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    ready.put(server.server_address[1])
    server.serve_forever()


def start_floor(body: bytes, settings: Settings) -> tuple[Process, str]:
    """A bare HTTPS server sending ``body``, with the node's certificate; (process, URL)."""
    ready: Queue[int] = Queue()
    tls = settings.tls
    process = Process(
        target=_floor_server,
        args=(body, str(tls.server_cert), str(tls.server_key), ready),
        daemon=True,
    )
    process.start()
    return process, f"https://127.0.0.1:{ready.get(timeout=30)}"


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
    """One keep-alive HTTPS client per worker thread, all signed in with the same token
    (none for the floor)."""

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
                headers={"Authorization": f"Bearer {self.token}"} if self.token else {},
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
        return f"{result.name:<30} no successful request ({result.errors} errors)"
    ms = [v * 1000 for v in result.latencies]
    sizes = sorted(result.sizes)
    size = (
        f"{sizes[0]:,} B"
        if sizes[0] == sizes[-1]
        else f"{sizes[0]:,}-{sizes[-1]:,} B (median {sizes[len(sizes) // 2]:,})"
    )
    line = (
        f"{result.name:<30} n={len(ms):<6} p50={percentile(ms, 50):8.2f} ms  "
        f"p99={percentile(ms, 99):8.2f} ms  {len(ms) / result.wall:8.1f} req/s  size {size}"
    )
    if result.errors:
        line += f"  errors={result.errors}"
    if result.cut_short:
        line += "  (stopped at --max-seconds)"
    return line


def table(results: list[Result]) -> str:
    """The issue's summary table (markdown): p50, p99, throughput and size per endpoint."""
    lines = [
        "| endpoint | p50 | p99 | req/s | size |",
        "|---|---|---|---|---|",
    ]
    for result in results:
        if not result.latencies:
            lines.append(f"| {result.name} | - | - | - | - |")
            continue
        ms = [v * 1000 for v in result.latencies]
        lines.append(
            f"| {result.name} | {percentile(ms, 50):.1f} ms | {percentile(ms, 99):.1f} ms | "
            f"{len(ms) / result.wall:.0f} | {sorted(result.sizes)[len(ms) // 2]:,} B |"
        )
    return "\n".join(lines)


# Main --------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="per endpoint (2000)")
    parser.add_argument("--concurrency", type=int, default=4, help="client threads (4)")
    parser.add_argument("--datacenters", type=int, default=100, help="seeded (100)")
    parser.add_argument("--nodes", type=int, default=1000, help="seeded (1000)")
    parser.add_argument("--instances", type=int, default=10000, help="seeded (10000)")
    parser.add_argument(
        "--hot-node-instances", type=int, default=500, help="of them on one node (500)"
    )
    parser.add_argument(
        "--database-url", default=None, help="an EMPTY PostgreSQL database; default SQLite"
    )
    parser.add_argument("--warmup", type=int, default=50, help="requests per endpoint (50)")
    parser.add_argument(
        "--max-seconds", type=float, default=300.0, help="time bound per endpoint (300)"
    )
    parser.add_argument("--log-level", default="warning", help="cloudenv serve's (warning)")
    parser.add_argument(
        "--workers", type=int, default=None, help="cloudenv serve's (its default: one per core)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    args = parser.parse_args(argv)
    for name in ("requests", "concurrency"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    counts = (args.datacenters, args.nodes, args.instances, args.hot_node_instances, args.warmup)
    if min(counts) < 0 or args.max_seconds <= 0:
        parser.error(
            "--datacenters, --nodes, --instances, --hot-node-instances, --warmup must be "
            ">= 0, --max-seconds > 0"
        )
    if args.hot_node_instances > args.instances:
        parser.error("--hot-node-instances can't exceed --instances")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="cloudenv-bench-"))
    daemon: Server | None = None
    pools: list[ClientPool] = []
    floor: Process | None = None
    try:
        database = "PostgreSQL" if args.database_url else "SQLite (in the data dir)"
        print("cloudenv API latency benchmark")
        print(
            f"  machine: os.cpu_count()={os.cpu_count()}  {platform.machine()}  "
            f"Python {platform.python_version()}  (client threads share it with the daemon)"
        )
        print(
            f"  database: {database}  seed: {args.datacenters} datacenters, {args.nodes} "
            f"nodes, {args.instances} instances ({args.hot_node_instances} on one node)"
        )
        print(
            f"  load: {args.requests} requests/endpoint, concurrency {args.concurrency}, "
            f"warm-up {args.warmup}, keep-alive HTTPS on 127.0.0.1, serve --log-level "
            f"{args.log_level}"
        )
        started = time.perf_counter()
        try:
            node = init_node(work, database_url=args.database_url)
            seeded = seed(
                node.path, args.datacenters, args.nodes, args.instances, args.hot_node_instances
            )
            print(f"  set-up: init + seed {time.perf_counter() - started:.1f} s")
            serve_args = ["--log-level", args.log_level]
            if args.workers is not None:
                serve_args += ["--workers", str(args.workers)]
            daemon = start_server(node, extra_args=serve_args, start_timeout=START_TIMEOUT)
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
        pools.append(pool)

        tree_bytes = pool.get().get("/api/v1/organizations").content
        floor, floor_url = start_floor(tree_bytes, node.settings)
        floor_pool = ClientPool(floor_url, ca, "")
        pools.append(floor_pool)
        print(f"  served tree: {len(tree_bytes):,} B")

        node_ids = seeded.node_ids
        endpoints: list[tuple[str, ClientPool, Callable[[int], str]]] = [
            ("tree GET /v1/organizations", pool, lambda _i: "/api/v1/organizations"),
        ]
        if seeded.hot_node:
            endpoints += [
                (
                    "GET /v1/instances?node_id=",
                    pool,
                    lambda _i: f"/api/v1/instances?node_id={seeded.hot_node}",
                ),
                (
                    "GET /v1/instances?cluster_id=",
                    pool,
                    lambda _i: f"/api/v1/instances?cluster_id={seeded.hot_cluster}",
                ),
            ]
        endpoints += [
            ("bare HTTPS, tree's bytes", floor_pool, lambda _i: "/"),
            ("GET /v1/nodes/{id}", pool, lambda i: f"/api/v1/nodes/{node_ids[i % len(node_ids)]}"),
        ]
        print()
        results = []
        for name, target, path_for in endpoints:
            if args.warmup:
                measure(name, path_for, target, args.warmup, args.concurrency, args.max_seconds)
            result = measure(
                name, path_for, target, args.requests, args.concurrency, args.max_seconds
            )
            results.append(result)
            print(report(result), flush=True)
        print()
        print(table(results))
        return 0
    finally:
        for each in pools:
            each.close()
        if floor is not None:
            floor.terminate()
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
