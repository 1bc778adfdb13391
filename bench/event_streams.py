"""What open event streams cost a served node: CPU of the daemon and other clients' latency.

Sets up a throwaway node (``cloudenv init``, then ``cloudenv serve`` on a free loopback
port), adds enough users to hold ``--streams`` streams within the per-user limit (sessions
written through the ORM: user management arrives with the IAM issue), then measures twice,
without streams and with them open: the daemon's CPU share over ``--seconds`` and the
p50/p99 latency of ``GET /api/v1/auth/me`` from another client, while a writer changes a
datacenter ``--changes`` times a second so the streams have something to carry. Prints one
line per phase and how many events the streams received, then stops the daemon and deletes
the data dir.

    .venv/bin/python bench/event_streams.py [--streams 200] [--seconds 10] [--changes 2]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import secrets
import shutil
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import httpx

from cloudenv import clock
from cloudenv.ids import Prefix, new_id
from cloudenv.services.iam.builtin import ADMINISTRATOR
from cloudenv.store.engine import make_engine, make_session_factory, transaction
from cloudenv.store.tables import Organization, Session_, User, UserPolicy
from cloudenv.tls import client_ssl_context

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.served_node import init_node, start_server  # noqa: E402

STREAMS_PER_USER = 8


def add_sessions(database_url: str, users: int) -> list[str]:
    """``users`` users of the root organization, each with one session; their tokens."""
    engine = make_engine(database_url)
    tokens = []
    with transaction(make_session_factory(engine)) as db:
        org = db.query(Organization).filter(Organization.is_root.is_(True)).one()
        now = clock.now()
        for n in range(users):
            user = User(
                id=new_id(Prefix.USER),
                organization_id=org.id,
                username=f"watcher{n}",
                creation=now,
            )
            db.add(user)
            db.flush()  # sessions and policies refer to the user
            db.add(UserPolicy(user_id=user.id, policy_id=ADMINISTRATOR.id))
            token = secrets.token_urlsafe(32)
            db.add(
                Session_(
                    token_hash=hashlib.sha256(token.encode()).hexdigest(),
                    user_id=user.id,
                    created=now,
                    expires=now + timedelta(hours=1),
                )
            )
            tokens.append(token)
    engine.dispose()
    return tokens


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def measure(url: str, verify: object, token: str, pid: int, seconds: float) -> str:
    """CPU share of the daemon and latency of GET /auth/me over ``seconds``."""
    latencies: list[float] = []
    start_cpu, start = cpu_seconds(pid), time.monotonic()
    with httpx.Client(
        base_url=url, verify=verify, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        while time.monotonic() - start < seconds:
            began = time.perf_counter()
            client.get("/api/v1/auth/me").raise_for_status()
            latencies.append((time.perf_counter() - began) * 1000)
            time.sleep(0.02)
    share = (cpu_seconds(pid) - start_cpu) / (time.monotonic() - start) * 100
    return (
        f"daemon CPU {share:5.1f} %   GET /auth/me p50 {percentile(latencies, 0.5):6.1f} ms"
        f"  p99 {percentile(latencies, 0.99):6.1f} ms  ({len(latencies)} requests)"
    )


def writer(url: str, verify: object, token: str, per_second: float, stop: threading.Event) -> None:
    with httpx.Client(
        base_url=url, verify=verify, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        dc = client.get("/api/v1/datacenters").json()[0]["id"]
        n = 0
        while not stop.wait(1 / per_second):
            n += 1
            client.patch(f"/api/v1/datacenters/{dc}", json={"description": f"change {n}"})


async def hold_streams(
    url: str,
    verify: object,
    tokens: list[str],
    count: int,
    ready: threading.Event,
    stop: threading.Event,
    received: list[int],
) -> None:
    limits = httpx.Limits(max_connections=count + 10, max_keepalive_connections=count + 10)
    connected = 0
    async with httpx.AsyncClient(
        base_url=url, verify=verify, limits=limits, timeout=httpx.Timeout(30.0, read=60.0)
    ) as c:

        async def one(token: str) -> None:
            nonlocal connected
            headers = {"Authorization": f"Bearer {token}"}
            async with c.stream("GET", "/api/v1/events", headers=headers) as response:
                response.raise_for_status()
                async for line in response.aiter_lines():
                    if line == ": connected":
                        connected += 1
                        if connected == count:
                            ready.set()
                    elif line.startswith("data: "):
                        received[0] += 1

        tasks = [asyncio.create_task(one(tokens[i // STREAMS_PER_USER])) for i in range(count)]
        while not stop.is_set():
            await asyncio.sleep(0.1)
            for task in tasks:
                if task.done() and task.exception():
                    raise task.exception()  # type: ignore[misc]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--changes", type=float, default=2.0, help="datacenter edits per second")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="cloudenv-bench-events-"))
    try:
        node = init_node(base)
        tokens = add_sessions(node.settings.database_url, -(-args.streams // STREAMS_PER_USER) + 1)
        server = start_server(node)
        try:
            verify = client_ssl_context(node.ca)
            with server.admin() as admin:
                admin_token = admin.headers["Authorization"].removeprefix("Bearer ")
            pid = server.process.pid
            stop_writer = threading.Event()
            threading.Thread(
                target=writer,
                args=(server.url, verify, admin_token, args.changes, stop_writer),
                daemon=True,
            ).start()
            print(f"no streams        {measure(server.url, verify, tokens[-1], pid, args.seconds)}")
            ready, stop, received = threading.Event(), threading.Event(), [0]
            holder = threading.Thread(
                target=asyncio.run,
                args=(
                    hold_streams(server.url, verify, tokens, args.streams, ready, stop, received),
                ),
                daemon=True,
            )
            holder.start()
            if not ready.wait(120):
                errors = {ln for ln in server.log().splitlines() if "Error" in ln or "ERROR" in ln}
                print("\n".join(sorted(errors)[:20]))
                raise SystemExit(f"the {args.streams} streams did not all connect")
            line = measure(server.url, verify, tokens[-1], pid, args.seconds)
            print(f"{args.streams:4d} streams      {line}")
            stop.set()
            stop_writer.set()
            holder.join(30)
            print(f"events received by the streams: {received[0]}")
        finally:
            server.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
