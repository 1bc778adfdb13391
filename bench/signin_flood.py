"""What a flood of wrong sign-ins costs a served node: its memory, and another user's wait.

Sets up a throwaway node (``cloudenv init``, then ``cloudenv serve`` on a free loopback
port, production argon2), gives a second user a session (written to the database: the
users API is not this bench's subject), then:

1. measures that user's ``GET /api/v1/organizations`` alone for ``--seconds``;
2. sends ``--rounds`` floods of ``--concurrency`` simultaneous wrong sign-ins, while the
   same user keeps reading, and the daemon's resident memory (the serving process and its
   API workers, summed) is sampled every 50 ms.

Each flood request comes from its own loopback address (127.0.0.2, 127.0.0.3, ...) unless
``--same-address``: the per-address throttle would otherwise answer most of them 429
before hashing, and the subject here is the hashing pool. Prints the daemon's RSS before,
at its peak and after, what the sign-ins were answered (401, 429 and their Retry-After),
and the reader's latency alone and during the floods. Run it against another checkout's
code to compare (``PYTHONPATH=<checkout>/src``).

    .venv/bin/python bench/signin_flood.py [--concurrency 40] [--rounds 3] [--seconds 5]
        [--workers N] [--same-address] [--keep]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
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

from tests.support.served_node import Server, init_node, start_server  # noqa: E402


def reader_session(database_url: str) -> str:
    """A second user of the root organization with one session; its token."""
    engine = make_engine(database_url)
    with transaction(make_session_factory(engine)) as db:
        org = db.query(Organization).filter(Organization.is_root.is_(True)).one()
        now = clock.now()
        user = User(id=new_id(Prefix.USER), organization_id=org.id, username="reader", creation=now)
        db.add(user)
        db.flush()
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
    engine.dispose()
    return token


# The daemon's memory -----------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def tree_rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and all its descendants, in MB."""
    total_kb, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except OSError:
            continue
        todo += _children(current)
    return total_kb / 1024


class RssSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0.0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.05):
            self.peak = max(self.peak, tree_rss_mb(self.pid))


# Load --------------------------------------------------------------------------------------


class Reader(threading.Thread):
    """Another user reading the tree in a loop; latencies in ms per phase."""

    def __init__(self, server: Server, token: str) -> None:
        super().__init__(daemon=True)
        self.server, self.token = server, token
        self.phase = "alone"
        self.latencies: dict[str, list[float]] = {}
        self.errors: Counter[int] = Counter()
        self.stop = threading.Event()

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        with self.server.client(headers=headers, timeout=60.0) as client:
            while not self.stop.is_set():
                started = time.perf_counter()
                response = client.get("/api/v1/organizations")
                elapsed = (time.perf_counter() - started) * 1000
                if response.status_code == 200:
                    self.latencies.setdefault(self.phase, []).append(elapsed)
                else:
                    self.errors[response.status_code] += 1
                self.stop.wait(0.02)


def flood(server: Server, concurrency: int, first_address: int, same_address: bool) -> list[str]:
    """``concurrency`` wrong sign-ins at once; what each was answered."""
    answers: list[str] = [""] * concurrency
    start = threading.Barrier(concurrency)
    verify = client_ssl_context(server.node.ca)

    def one(i: int) -> None:
        address = (
            "127.0.0.1"
            if same_address
            else f"127.0.{(first_address + i) // 250}.{(first_address + i) % 250 + 2}"
        )
        transport = httpx.HTTPTransport(local_address=address, verify=verify)
        with httpx.Client(base_url=server.url, transport=transport, timeout=120.0) as client:
            start.wait()
            try:
                response = client.post(
                    "/api/v1/auth/login",
                    json={"username": "pceadmin", "password": f"wrong-guess-{i}"},
                )
            except httpx.HTTPError as exc:
                answers[i] = type(exc).__name__
                return
            retry = response.headers.get("retry-after")
            answers[i] = f"{response.status_code}" + (f" (Retry-After {retry} s)" if retry else "")

    threads = [threading.Thread(target=one, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def latency_line(name: str, values: list[float]) -> str:
    if not values:
        return f"  {name:<22} no successful request"
    p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
    return (
        f"  {name:<22} p50 {p50:7.1f} ms   p99 {p99:7.1f} ms   max {max(values):7.1f} ms"
        f"   ({len(values)} requests)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--concurrency", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0, help="reader alone (5)")
    parser.add_argument("--workers", type=int, default=None, help="serve's (default per core)")
    parser.add_argument("--same-address", action="store_true", help="flood from 127.0.0.1")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="cloudenv-bench-signin-"))
    server: Server | None = None
    try:
        print("cloudenv sign-in flood benchmark")
        print(
            f"  machine: os.cpu_count()={os.cpu_count()}  {platform.machine()}  "
            f"Python {platform.python_version()}  (the clients share it with the daemon)"
        )
        node = init_node(base)
        token = reader_session(node.settings.database_url)
        extra = ["--log-level", "warning"]
        if args.workers is not None:
            extra += ["--workers", str(args.workers)]
        server = start_server(node, extra_args=extra)
        pid = server.process.pid
        reader = Reader(server, token)
        reader.start()
        time.sleep(args.seconds)
        before = tree_rss_mb(pid)
        sampler = RssSampler(pid)
        sampler.start()
        reader.phase = "during the floods"
        answers: Counter[str] = Counter()
        walls = []
        for round_ in range(args.rounds):
            started = time.perf_counter()
            answers.update(
                flood(server, args.concurrency, round_ * args.concurrency, args.same_address)
            )
            walls.append(time.perf_counter() - started)
        reader.phase = "after"
        time.sleep(min(args.seconds, 2.0))
        reader.stop.set()
        reader.join(60)
        sampler.stop.set()
        sampler.join(5)
        after = tree_rss_mb(pid)
        source = "one address" if args.same_address else "one loopback address each"
        print(
            f"  load: {args.rounds} round(s) of {args.concurrency} concurrent wrong sign-ins "
            f"({source}); another user reads GET /api/v1/organizations in a loop"
        )
        print()
        print(
            f"  daemon RSS (serve + API workers): before {before:.0f} MB, "
            f"peak during {max(sampler.peak, before):.0f} MB, after {after:.0f} MB"
        )
        print("  sign-ins answered: " + ", ".join(f"{n} x {a}" for a, n in answers.most_common()))
        print("  flood rounds took: " + ", ".join(f"{w:.1f} s" for w in walls))
        print("  another user's GET /api/v1/organizations:")
        for phase in ("alone", "during the floods", "after"):
            print(latency_line(phase, reader.latencies.get(phase, [])))
        if reader.errors:
            print(f"  reader errors: {dict(reader.errors)}")
        return 0
    finally:
        if server is not None:
            server.stop(signal.SIGINT)
        if args.keep:
            print(f"  kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
