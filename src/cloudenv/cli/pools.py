"""``cloudenv pool …``: a cluster's storage pools: list, show, create, enable and disable
on nodes, destroy (asks for the word DESTROY).

A pool type's one write-only setting (a CIFS password, an iSCSI CHAP secret, a Ceph key)
is read from a file or typed at a hidden prompt, never taken as a command-line argument
(a process list and the shell's history would show it).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from cloudenv.api.schemas.storage import StoragePoolCreate, StoragePoolUpdate
from cloudenv.cli.client import ApiClient, request_body, segment
from cloudenv.cli.output import (
    confirm_destructive,
    fail,
    print_json,
    print_record,
    print_table,
    say,
)
from cloudenv.enums import PoolType

pool_app = typer.Typer(help="Storage pools of a cluster.", no_args_is_help=True)

Json = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
Opt = Annotated[str | None, typer.Option()]
TYPES = {t.name.lower(): t for t in PoolType}
#: Each type's write-only setting, read by --secret-file or --ask-secret.
SECRET_KEY = {PoolType.NETFS: "password", PoolType.ISCSI: "chap_secret", PoolType.RBD: "key"}
#: How long ``--wait`` follows propagation before giving up (the pool keeps going).
WAIT_SECONDS = 300.0

COLUMNS = [
    ("id", "ID"),
    ("name", "Name"),
    ("type_name", "Type"),
    ("status", "Status"),
    ("node_count", "Nodes"),
    ("where", "Where"),
    ("description", "Description"),
]


def _where(pool: dict[str, Any]) -> str:
    """The one setting that says where a pool's data is, for the table."""
    config = pool.get("config", {})
    for key in ("path", "portal", "volume_group", "pool"):
        if key in config:
            return str(config[key])
    return ""


def _row(pool: dict[str, Any]) -> dict[str, Any]:
    return {**pool, "type_name": PoolType(pool["type"]).name.lower(), "where": _where(pool)}


@pool_app.command("list")
def pool_list(cluster_id: str, json_: Json = False) -> None:
    """The cluster's pools with their status (none, ok, error, pending, destroying)."""
    pools = ApiClient.from_login().get(f"/v1/clusters/{segment(cluster_id)}/storage_pools")
    if json_:
        return print_json(pools)
    print_table([_row(p) for p in pools], COLUMNS)


def _show(pool: dict[str, Any]) -> None:
    record = {k: v for k, v in _row(pool).items() if k not in ("nodes", "config", "where")}
    print_record({**record, **{f"config.{k}": v for k, v in pool["config"].items()}})
    if pool["nodes"]:
        print_table(pool["nodes"], [("node_id", "Node"), ("state", "State"), ("error", "Error")])


@pool_app.command("show")
def pool_show(pool_id: str, json_: Json = False) -> None:
    pool = ApiClient.from_login().get(f"/v1/storage_pools/{segment(pool_id)}")
    if json_:
        return print_json(pool)
    _show(pool)


def _secret(kind: PoolType, secret_file: Path | None, ask: bool) -> dict[str, str]:
    if secret_file is None and not ask:
        return {}
    key = SECRET_KEY.get(kind)
    if key is None:
        fail(f"{kind.name.lower()} pools have no secret setting; leave out the secret option.")
    if secret_file is not None:
        try:
            value = secret_file.read_text().rstrip("\n")
        except OSError as exc:
            fail(f"Can't read {secret_file}: {exc.strerror}.")
    else:
        value = typer.prompt(f"{key.replace('_', ' ').capitalize()}", hide_input=True)
    return {key: value}


@pool_app.command("create")
def pool_create(
    cluster_id: str,
    name: str,
    type_: Annotated[
        str, typer.Option("--type", help="directory, netfs, iscsi, lvm, rbd or zfs.")
    ] = "directory",
    path: Annotated[str | None, typer.Option(help="Target path (directory, netfs).")] = None,
    protocol: Annotated[str | None, typer.Option(help="nfs or cifs (netfs).")] = None,
    server: Annotated[str | None, typer.Option(help="File server (netfs).")] = None,
    export: Annotated[
        str | None, typer.Option(help="NFS export path or CIFS share (netfs).")
    ] = None,
    username: Annotated[
        str | None,
        typer.Option(help="CIFS user (netfs); its password: --secret-file or --ask-secret."),
    ] = None,
    domain: Annotated[str | None, typer.Option(help="CIFS user's domain (netfs).")] = None,
    portal: Annotated[str | None, typer.Option(help="host[:port] (iscsi).")] = None,
    target: Annotated[str | None, typer.Option(help="Target IQN (iscsi).")] = None,
    initiator: Annotated[str | None, typer.Option(help="Initiator IQN (iscsi).")] = None,
    chap_username: Annotated[str | None, typer.Option(help="CHAP user (iscsi).")] = None,
    volume_group: Annotated[
        str | None, typer.Option(help="Volume group (lvm; default: the pool's name).")
    ] = None,
    monitor: Annotated[
        list[str] | None, typer.Option(help="Ceph monitor host[:port] (rbd; repeat it).")
    ] = None,
    pool: Annotated[
        str | None, typer.Option(help="Ceph pool (rbd) or zpool (zfs; default: the name).")
    ] = None,
    user: Annotated[str | None, typer.Option(help="Ceph user (rbd; default admin).")] = None,
    secret_file: Annotated[
        Path | None,
        typer.Option(help="File holding the CIFS password, CHAP secret or Ceph key."),
    ] = None,
    ask_secret: Annotated[
        bool, typer.Option("--ask-secret", help="Type that secret at a hidden prompt.")
    ] = False,
    description: Opt = None,
    can_hold_images: Annotated[
        bool, typer.Option("--can-hold-images", help="Allow images (file pools).")
    ] = False,
    json_: Json = False,
) -> None:
    """Create a pool, enabled on no node yet (then: cloudenv pool enable)."""
    kind = TYPES.get(type_.lower())
    if kind is None:
        fail(f"Unknown pool type {type_!r}; use one of {', '.join(TYPES)}.")
    settings = {
        "path": path,
        "protocol": protocol,
        "server": server,
        "export": export,
        "username": username,
        "domain": domain,
        "portal": portal,
        "target": target,
        "initiator": initiator,
        "chap_username": chap_username,
        "volume_group": volume_group,
        "monitors": monitor or None,
        "pool": pool,
        "user": user,
    }
    config = {k: v for k, v in settings.items() if v is not None}
    config.update(_secret(kind, secret_file, ask_secret))
    body = request_body(
        StoragePoolCreate,
        name=name,
        type=int(kind),
        description=description,
        can_hold_images=can_hold_images or None,
        config=config,
    )
    created = ApiClient.from_login().post(f"/v1/clusters/{segment(cluster_id)}/storage_pools", body)
    if json_:
        return print_json(created)
    say(
        f"Created storage pool {name} ({created['id']}); enable it with: cloudenv pool enable "
        f"{created['id']} <node>."
    )


def _set_nodes(pool_id: str, change: str, node_ids: list[str], wait: bool) -> None:
    client = ApiClient.from_login()
    current = client.get(f"/v1/storage_pools/{segment(pool_id)}")
    enabled = [n["node_id"] for n in current["nodes"] if n["state"] != "removing"]
    if change == "enable":
        wanted = enabled + [n for n in node_ids if n not in enabled]
    else:
        wanted = [n for n in enabled if n not in node_ids]
    body = request_body(StoragePoolUpdate, node_ids=wanted)
    pool = client.patch(f"/v1/storage_pools/{segment(pool_id)}", body)
    deadline = time.monotonic() + WAIT_SECONDS
    while wait and pool["status"] == "pending" and time.monotonic() < deadline:
        time.sleep(1.0)
        pool = client.get(f"/v1/storage_pools/{segment(pool_id)}")
    _show(pool)
    if wait and pool["status"] == "error":
        fail(f"Storage pool {pool['name']} is in error on some node (see above).")


Wait = Annotated[
    bool, typer.Option("--wait", help="Follow propagation until the pool is no longer pending.")
]


@pool_app.command("enable")
def pool_enable(pool_id: str, node_ids: list[str], wait: Wait = False) -> None:
    """Enable the pool on these nodes too (propagation defines it there)."""
    _set_nodes(pool_id, "enable", node_ids, wait)


@pool_app.command("disable")
def pool_disable(pool_id: str, node_ids: list[str], wait: Wait = False) -> None:
    """Disable the pool on these nodes (refused while they hold volumes in it)."""
    _set_nodes(pool_id, "disable", node_ids, wait)


@pool_app.command("destroy")
def pool_destroy(
    pool_id: str,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Mark the pool for destruction (asks for the word DESTROY); propagation removes it
    from its nodes, and its name is free once that has finished."""
    confirm_destructive(f"destroy storage pool {pool_id}", yes)
    ApiClient.from_login().delete(f"/v1/storage_pools/{segment(pool_id)}", confirm="DESTROY")
    say(f"Storage pool {pool_id} is marked for destruction.")
