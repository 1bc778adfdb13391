"""What authorization costs: one ``authorize()``, a gated request, and the resource tree for
a user whose policy has 1,024 statements, at 10,000 instances, next to the root user (whose
policies are never evaluated) and an Administrator (whose ``*`` takes the fast path).

Sets up a throwaway node (``cloudenv init``), seeds it as ``api_latency.py`` does (100
datacenters, 1,000 nodes over 100 clusters, 10,000 instances, 500 on one node), writes a
1,024-statement policy over the seeded tree (allows on cluster and node subtrees and on
single instances, denies of single nodes and instances, patterns, and a few time-of-day
rules, so the policy is compiled per minute like the worst real one) and three signed-in
sessions (root, Administrator, the 1,024-statement user), then:

1. in process: the policy's compile time, and µs per ``authorize()`` on instance paths,
   and per object when a list filters (``Principal.check_for``), for each user;
2. over HTTPS (``cloudenv serve`` on a loopback port): p50/p99 of a gated single read
   (``GET /api/v1/instances/{id}``), of a filtered list (``GET /api/v1/instances?cluster_id=``
   of the cluster holding 500 instances) and of the tree (``GET /api/v1/organizations``) per
   user, with the difference to the root user.

    .venv/bin/python bench/authz.py [--requests 400] [--concurrency 2] [--statements 1024]
        [--datacenters 100] [--nodes 1000] [--instances 10000] [--workers N] [--keep]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import platform
import secrets
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from cloudenv import clock
from cloudenv.config import Settings
from cloudenv.errors import Forbidden
from cloudenv.ids import Prefix, new_id
from cloudenv.services import auth
from cloudenv.services.access import (
    SYSTEM,
    Action,
    Principal,
    authorize,
    authorize_route,
    full_path,
)
from cloudenv.services.iam import principals
from cloudenv.services.iam.builtin import ADMINISTRATOR
from cloudenv.services.iam.policy import CompiledPolicy, parse_statements
from cloudenv.store.engine import make_engine, make_session_factory, transaction
from cloudenv.store.queries import tenancy as tq
from cloudenv.store.tables import (
    Cluster,
    Instance,
    Node,
    Organization,
    Policy,
    Session_,
    User,
    UserPolicy,
)

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.api_latency import ClientPool, Result, measure, percentile  # noqa: E402
from bench.seeding import seed  # noqa: E402
from tests.support.served_node import ServedNodeError, init_node, start_server  # noqa: E402

START_TIMEOUT = 60.0


# The policy --------------------------------------------------------------------------------------


@dataclass
class Tree:
    org: str
    clusters: list[str]
    nodes: list[tuple[str, str]]  # (node, cluster)
    instances: list[tuple[str, str]]  # (instance, node)


def read_tree(db: Any) -> Tree:
    org = db.scalars(select(Organization.id).where(Organization.is_root)).one()
    clusters = list(db.scalars(select(Cluster.id).order_by(Cluster.name)))
    nodes = [tuple(r) for r in db.execute(select(Node.id, Node.cluster_id).order_by(Node.name))]
    instances = [
        tuple(r) for r in db.execute(select(Instance.id, Instance.node_id).order_by(Instance.name))
    ]
    return Tree(org, clusters, nodes, instances)


def big_policy(tree: Tree, count: int) -> list[dict[str, Any]]:
    """``count`` statements over the seeded tree, of every kind the engine handles."""

    def stmt(action: str, effect: str, resource: str, **extra: Any) -> dict[str, Any]:
        return {"action": action, "effect": effect, "resource": resource, **extra}

    out = [
        stmt(a, "allow", "*")
        for a in ("organization.list", "organization.read", "datacenter.read", "cluster.read")
    ]
    out.append(stmt("task.read", "allow", "*"))
    half = tree.clusters[: len(tree.clusters) // 2]
    out += [stmt("node.read", "allow", f"{c}/*") for c in half]
    out += [stmt("node.read", "deny", n) for n, _ in tree.nodes[1:51]]
    out += [stmt("instance.*", "allow", f"{n}/*") for n, _ in tree.nodes[:400]]
    out += [stmt("instance.read", "allow", i) for i, _ in tree.instances[-200:]]
    out += [stmt("instance.destroy", "deny", i) for i, _ in tree.instances[:100]]
    out += [stmt("instance.power", "deny", f"{n[:9]}*/*") for n, _ in tree.nodes[400:420]]
    office_hours = [
        {
            "field": "env.day_of_week",
            "operator": "in",
            "value": ["mon", "tue", "wed", "thu", "fri"],
        },
        {"field": "env.time_of_day", "operator": "between", "value": ["07:00", "19:00"]},
    ]
    out += [stmt("instance.console", "allow", f"{c}/*", rules=office_hours) for c in half[:20]]
    filler = 0
    while len(out) < count:
        out.append(stmt("image.read", "allow", f"img-bench{filler:05d}"))
        filler += 1
    return out[:count]


# Users -------------------------------------------------------------------------------------------


def add_session(db: Any, user_id: str) -> str:
    token = secrets.token_urlsafe(32)
    now = clock.now()
    db.add(
        Session_(
            token_hash=hashlib.sha256(token.encode()).hexdigest(),
            user_id=user_id,
            created=now,
            expires=now + timedelta(hours=2),
        )
    )
    return token


def add_user(db: Any, org: str, name: str, policy_ids: list[str]) -> str:
    user = User(id=new_id(Prefix.USER), organization_id=org, username=name, creation=clock.now())
    db.add(user)
    db.flush()
    for position, policy_id in enumerate(policy_ids):
        db.add(UserPolicy(user_id=user.id, policy_id=policy_id, position=position))
    return user.id


# In process --------------------------------------------------------------------------------------


def per_call_us(fn: Callable[[], None], n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - started) / n * 1e6


def in_process(
    database_url: str,
    users: dict[str, str],
    tokens: dict[str, str],
    statements: list[dict[str, Any]],
) -> None:
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    try:
        with transaction(factory) as db:
            tree = read_tree(db)
            started = time.perf_counter()
            parsed = parse_statements(statements, [a.value for a in Action])
            parse_ms = (time.perf_counter() - started) * 1000
            compiled = CompiledPolicy(parsed)
            now = clock.now().astimezone()
            started = time.perf_counter()
            compiled.rules_for(Action.INSTANCE_POWER.value, now)
            compile_ms = (time.perf_counter() - started) * 1000
            built: dict[str, Principal] = {"root (SYSTEM)": SYSTEM}
            for name, user_id in users.items():
                user = db.get_one(User, user_id)
                built[name] = principals.principal_for(db, user, True)
            places = tq.node_paths(db, {n for _, n in tree.instances})
            paths = [full_path(tree.org, (*places[n], i)) for i, n in tree.instances]
        print(
            f"  policy of {len(statements)} statements: checked in {parse_ms:.1f} ms; one "
            f"action's rules compiled in {compile_ms:.2f} ms (then kept per minute of the week)"
        )
        print()
        print(
            "  A gated request's authorization, without HTTP: its session read with the "
            "user's policy IDs and\n  revisions (one query; the compiled policy is cached), "
            "the route gate, and authorize() at the target:"
        )
        with transaction(factory) as db:
            target = paths[0]
            for name, token in tokens.items():

                def chain(token: str = token) -> None:
                    principal = auth.authenticate(db, token, "127.0.0.1")
                    authorize_route(principal, Action.INSTANCE_READ)
                    with contextlib.suppress(Forbidden):
                        authorize(principal, Action.INSTANCE_READ, tree.org, target[1:])

                def sign_in(token: str = token) -> None:
                    auth.authenticate(db, token, "127.0.0.1")

                chain()
                alone = per_call_us(sign_in, 2000)
                print(
                    f"  {name:<28} {per_call_us(chain, 2000):>9.1f} µs per request "
                    f"(of which signing in the session {alone:.1f} µs)"
                )
        print()
        print(f"  {'user':<28} {'authorize() µs':>15} {'per object in a list µs':>25}")
        n = len(paths)
        for name, principal in built.items():
            cursor = iter(range(10**9))

            def one(principal: Principal = principal, cursor: Any = cursor) -> None:
                path = paths[next(cursor) % n]
                with contextlib.suppress(Forbidden):  # a refusal costs what it costs
                    authorize(principal, Action.INSTANCE_READ, tree.org, path[1:])

            authorize_us = per_call_us(one, 20_000)
            started = time.perf_counter()
            check = principal.check_for(Action.INSTANCE_READ)
            kept = n if check is None else sum(1 for p in paths if check(p))
            listed_us = (time.perf_counter() - started) / n * 1e6
            print(
                f"  {name:<28} {authorize_us:>15.2f} {listed_us:>25.3f}"
                f"   ({kept:,} of {n:,} instances readable)"
            )
    finally:
        engine.dispose()


# Over HTTP ---------------------------------------------------------------------------------------


def line(name: str, result: Result, base: Result | None) -> str:
    if not result.latencies:
        return f"  {name:<44} no successful request ({result.errors} errors)"
    ms = [v * 1000 for v in result.latencies]
    p50, p99 = percentile(ms, 50), percentile(ms, 99)
    text = f"  {name:<44} p50 {p50:8.2f} ms  p99 {p99:8.2f} ms  n={len(ms)}"
    if base is not None and base.latencies:
        base50 = percentile([v * 1000 for v in base.latencies], 50)
        text += f"   (+{p50 - base50:6.2f} ms p50 vs root)"
    if result.errors:
        text += f"  errors={result.errors}"
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=400, help="per endpoint and user (400)")
    parser.add_argument("--concurrency", type=int, default=2, help="client threads (2)")
    parser.add_argument("--statements", type=int, default=1024, help="in the big policy (1024)")
    parser.add_argument("--datacenters", type=int, default=100)
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--instances", type=int, default=10000)
    parser.add_argument("--hot-node-instances", type=int, default=500)
    parser.add_argument("--workers", type=int, default=None, help="cloudenv serve's")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="cloudenv-bench-authz-"))
    daemon = None
    pools: list[ClientPool] = []
    try:
        print("cloudenv authorization benchmark")
        print(
            f"  machine: os.cpu_count()={os.cpu_count()}  {platform.machine()}  "
            f"Python {platform.python_version()}"
        )
        print(
            f"  seed: {args.datacenters} datacenters, {args.nodes} nodes, {args.instances} "
            f"instances ({args.hot_node_instances} on one node); SQLite"
        )
        started = time.perf_counter()
        node = init_node(work)
        seeded = seed(
            node.path, args.datacenters, args.nodes, args.instances, args.hot_node_instances
        )
        settings = Settings.load(node.path)
        engine = make_engine(settings.database_url)
        with transaction(make_session_factory(engine)) as db:
            tree = read_tree(db)
            statements = big_policy(tree, args.statements)
            policy = Policy(
                id=new_id(Prefix.POLICY),
                organization_id=tree.org,
                name="bench-1024",
                description="bench/authz.py",
                statements=statements,
                revision=1,
                creation=clock.now(),
            )
            db.add(policy)
            db.flush()
            root_id = db.scalars(select(User.id).where(User.is_root)).one()
            users = {
                "Administrator": add_user(db, tree.org, "bench-admin", [ADMINISTRATOR.id]),
                f"{len(statements)}-statement policy": add_user(
                    db, tree.org, "bench-big", [policy.id]
                ),
            }
            tokens = {"root user": add_session(db, root_id)}
            tokens.update({name: add_session(db, uid) for name, uid in users.items()})
        engine.dispose()
        print(f"  set-up: init + seed + policy {time.perf_counter() - started:.1f} s")
        print()
        print("In process (one thread, no HTTP):")
        in_process(settings.database_url, users, tokens, statements)

        serve_args = ["--log-level", "warning"]
        if args.workers is not None:
            serve_args += ["--workers", str(args.workers)]
        try:
            daemon = start_server(node, extra_args=serve_args, start_timeout=START_TIMEOUT)
        except ServedNodeError as exc:
            raise SystemExit(str(exc)) from None
        clients = {name: ClientPool(daemon.url, node.ca, token) for name, token in tokens.items()}
        pools.extend(clients.values())
        # Instances every user may read: on the first 400 seeded nodes (the big policy's
        # instance.* subtrees), the hot node's first among them.
        allowed_nodes = {n for n, _ in tree.nodes[:400]}
        readable = [i for i, n in tree.instances if n in allowed_nodes][:2000]
        endpoints: list[tuple[str, Callable[[int], str]]] = [
            (
                "GET /v1/instances/{id} (gated read)",
                lambda i: f"/api/v1/instances/{readable[i % len(readable)]}",
            ),
            (
                "GET /v1/instances?cluster_id= (list)",
                lambda _i: f"/api/v1/instances?cluster_id={seeded.hot_cluster}",
            ),
            ("GET /v1/organizations (the tree)", lambda _i: "/api/v1/organizations"),
        ]
        print()
        print(f"Over HTTPS ({args.requests} requests per line, {args.concurrency} client threads):")
        rounds = 4  # users take turns, so a noisy moment of the machine hits them alike
        for title, path_for in endpoints:
            results = {name: Result(name) for name in clients}
            for name, pool in clients.items():
                measure(name, path_for, pool, 30, args.concurrency, 120.0)  # warm-up
            for _ in range(rounds):
                for name, pool in clients.items():
                    part = measure(
                        name, path_for, pool, args.requests // rounds, args.concurrency, 300.0
                    )
                    merged = results[name]
                    merged.latencies += part.latencies
                    merged.sizes += part.sizes
                    merged.errors += part.errors
            base = results["root user"]
            for name, result in results.items():
                shown = None if result is base else base
                print(line(f"{title} as {name}", result, shown), flush=True)
            sizes = {
                k: sorted(r.sizes)[len(r.sizes) // 2] if r.sizes else 0 for k, r in results.items()
            }
            print(f"  {'':<44} reply sizes: " + ", ".join(f"{k} {v:,} B" for k, v in sizes.items()))
        return 0
    finally:
        for pool in pools:
            pool.close()
        if daemon is not None:
            daemon.stop(signal.SIGINT)
        if args.keep:
            print(f"  kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
