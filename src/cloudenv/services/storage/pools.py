"""Storage pools: defined once on a cluster, enabled on chosen nodes.

A pool row holds the definition (type, checked settings, write-only secrets); a
``pool_nodes`` row per node holds what that node's agent last observed. Changing which
nodes a pool is enabled on, or destroying it, only writes desired state (rows become
pending or removing) and queues the nodes' ``pool.sync`` work in the same transaction
(``propagation``); the agents do the rest. A pool's status is derived from its rows
(``derive_status``). Nothing here renders ``secrets``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from cloudenv import clock
from cloudenv.enums import PoolNodeStatus, PoolStatus, PoolType
from cloudenv.errors import Conflict, InvalidInput, NotFound
from cloudenv.ids import Prefix, new_id
from cloudenv.services import events, paths
from cloudenv.services.access import Action, Principal, authorize, full_path, readable
from cloudenv.services.confirmation import check_confirm
from cloudenv.services.events import EventKind
from cloudenv.services.journal import record_change
from cloudenv.services.partial import KEEP, Keep
from cloudenv.services.storage import pool_config, propagation
from cloudenv.services.validation import POOL_NAME, check_description
from cloudenv.store.queries import storage as q
from cloudenv.store.queries import tenancy as tq
from cloudenv.store.queries.scope import UNSCOPED
from cloudenv.store.tables import Cluster, Node, PoolNode, StoragePool

DEFAULT_POOL_NAME = "default"
#: The seed's words for the one edit that is refused.
RENAME_REFUSED = "The name of a storage pool cannot be changed after creation."


@dataclass(frozen=True)
class PoolNodeView:
    node_id: str
    state: str
    #: What went wrong there, naming the node ("node-…: volume group vg0 not found").
    error: str | None


@dataclass(frozen=True)
class PoolView:
    """A cluster pool as readers see it: its settings without the secrets."""

    id: str
    cluster_id: str
    name: str
    type: int
    description: str
    node_count: int
    can_hold_images: bool
    is_default: bool
    creation: datetime
    status: str
    nodes: list[PoolNodeView]
    config: dict[str, Any]


@dataclass(frozen=True)
class NodePoolView:
    """A pool as one node sees it (``GET /v1/nodes/{id}/storage/pools``)."""

    id: str
    type: int
    name: str
    initialized: bool
    available: bool
    can_hold_images: bool
    capacity_bytes: int
    allocation_bytes: int
    available_bytes: int
    volume_count: int
    path: str
    message: str


def derive_status(pool: StoragePool, states: Sequence[PoolNode]) -> PoolStatus:
    """The seed's icons: grey dash (enabled nowhere), red X (a node failed, or a node it
    is being removed from refused), pending while any node is still being brought to the
    definition, green check when every enabled node has it."""
    if pool.destroying:
        return PoolStatus.DESTROYING
    if not states:
        return PoolStatus.NONE
    if any(_error_of(s) for s in states):
        return PoolStatus.ERROR
    if any(s.status in (PoolNodeStatus.PENDING, PoolNodeStatus.REMOVING) for s in states):
        return PoolStatus.PENDING
    return PoolStatus.OK


def _error_of(state: PoolNode) -> str | None:
    """A failed row's reason; a row being removed has one only when its node refused."""
    if state.status == PoolNodeStatus.ERROR:
        return state.message or f"{state.node_id}: failed"
    if state.status == PoolNodeStatus.REMOVING and state.message:
        return state.message
    return None


def pool_view(pool: StoragePool, states: Sequence[PoolNode]) -> PoolView:
    return PoolView(
        id=pool.id,
        cluster_id=pool.cluster_id,
        name=pool.name,
        type=int(pool.type),
        description=pool.description,
        node_count=sum(1 for s in states if s.status != PoolNodeStatus.REMOVING),
        can_hold_images=pool.can_hold_images,
        is_default=pool.is_default,
        creation=pool.creation,
        status=derive_status(pool, states).value,
        nodes=[PoolNodeView(s.node_id, s.status.value, _error_of(s)) for s in states],
        config=dict(pool.config),
    )


def _views(db: Session, principal: Principal, pools: Sequence[StoragePool]) -> list[PoolView]:
    by_pool: dict[str, list[PoolNode]] = {}
    for state in q.pool_states(db, [p.id for p in pools], principal.scope):
        by_pool.setdefault(state.pool_id, []).append(state)
    return [pool_view(p, by_pool.get(p.id, [])) for p in pools]


# Reading ----------------------------------------------------------------------------------


def list_cluster_pools(db: Session, principal: Principal, cluster_id: str) -> list[PoolView]:
    """The cluster's pools whose ``pool.read`` the caller's policies allow."""
    cluster = _cluster(db, principal, cluster_id)
    found = q.cluster_pools(db, cluster.id, principal.scope)
    place = paths.cluster_path(cluster.datacenter_id, cluster.id)
    shown = readable(principal, Action.POOL_READ, found, lambda p: (*place, p.id))
    return _views(db, principal, shown)


def get_pool(db: Session, principal: Principal, pool_id: str) -> PoolView:
    pool = _load(db, principal, pool_id, Action.POOL_READ)
    return _views(db, principal, [pool])[0]


# Changing ---------------------------------------------------------------------------------


def create_pool(
    db: Session,
    principal: Principal,
    cluster_id: str,
    *,
    name: str,
    type: int,
    description: str = "",
    can_hold_images: bool = False,
    config: dict[str, Any] | None = None,
) -> StoragePool:
    """A pool of the cluster, enabled on no node yet (the seed: enable it by editing)."""
    cluster = _cluster(db, principal, cluster_id)
    authorize(
        principal,
        Action.POOL_CREATE,
        cluster.organization_id,
        paths.cluster_path(cluster.datacenter_id, cluster.id),
    )
    POOL_NAME.check(name)
    check_description(description)
    kind = pool_config.pool_type(type)
    checked = pool_config.check_config(kind, config or {}, pool_name=name)
    if can_hold_images and kind not in pool_config.FILE_TYPES:
        raise InvalidInput(
            f"A {kind.name.lower()} pool can't hold images: images are files, kept only in "
            "directory and netfs pools. Leave can_hold_images off.",
            field="can_hold_images",
        )
    _check_name_free(db, cluster, name)
    _check_target_free(db, cluster, kind, checked.config)
    pool = StoragePool(
        id=new_id(Prefix.POOL),
        organization_id=cluster.organization_id,
        cluster_id=cluster.id,
        name=name,
        type=kind,
        description=description,
        config=checked.config,
        secrets=checked.secrets,
        can_hold_images=can_hold_images,
        is_default=False,
        destroying=False,
        creation=clock.now(),
    )
    db.add(pool)
    db.flush()
    record_change(
        db,
        principal,
        Action.POOL_CREATE,
        event=EventKind.POOL_CREATED,
        target_id=pool.id,
        organization_id=pool.organization_id,
        data={"cluster_id": cluster.id},
        message=f"Storage pool {name} ({kind.name.lower()})",
    )
    return pool


def update_pool(
    db: Session,
    principal: Principal,
    pool_id: str,
    *,
    node_ids: Sequence[str] | Keep = KEEP,
    name: object | Keep = KEEP,
) -> PoolView:
    """Only the nodes a pool is enabled on change (the seed); a name is refused."""
    pool = _load(db, principal, pool_id, Action.POOL_UPDATE)
    if not isinstance(name, Keep):
        raise InvalidInput(RENAME_REFUSED, field="name")
    _check_not_destroying(pool)
    if not isinstance(node_ids, Keep):
        changed = _set_nodes(db, principal, pool, node_ids)
        record_change(
            db,
            principal,
            Action.POOL_UPDATE,
            event=EventKind.POOL_UPDATED,
            target_id=pool.id,
            organization_id=pool.organization_id,
            data={"cluster_id": pool.cluster_id},
            message="Enabled on " + (", ".join(sorted(set(node_ids))) or "no node"),
        )
        propagation.queue_syncs(db, changed)
    db.flush()
    return get_pool(db, principal, pool.id)


def _set_nodes(
    db: Session, principal: Principal, pool: StoragePool, node_ids: Sequence[str]
) -> set[str]:
    """Rows for newly enabled nodes (pending), removal for the others (refused while the
    node holds volumes in the pool); the nodes whose rows changed."""
    members = {n.id: n for n in tq.nodes(db, principal.scope, cluster_ids=[pool.cluster_id])}
    for index, node_id in enumerate(node_ids):
        if node_id not in members:
            raise InvalidInput(
                f"Node {node_id} is not a node of this pool's cluster ({pool.cluster_id}); "
                "a pool can be enabled only on its cluster's nodes.",
                field=f"node_ids[{index}]",
            )
    wanted = set(node_ids)
    states = {s.node_id: s for s in q.pool_states(db, [pool.id], UNSCOPED)}
    changed: set[str] = set()
    leaving = [
        n for n, s in states.items() if n not in wanted and s.status != PoolNodeStatus.REMOVING
    ]
    luns = pool.type == PoolType.ISCSI
    holdings = q.pool_holdings(db, pool.id, attached_only=luns)
    busy = {n: holdings[n] for n in leaving if holdings.get(n, (0, 0)) != (0, 0)}
    if busy:
        # A LUN can't be destroyed through cloudenv: only detaching it frees the pool.
        free = "detach them from their instances" if luns else "destroy those volumes (or images)"
        raise Conflict(
            f"Storage pool {pool.name} ({pool.id}) can't be disabled on "
            f"{_describe_holdings(busy, members, luns=luns)}; {free} first.",
            field="node_ids",
        )
    for node_id in leaving:
        states[node_id].status, states[node_id].message = PoolNodeStatus.REMOVING, ""
        changed.add(node_id)
    for node_id in wanted:
        found = states.get(node_id)
        if found is None:
            db.add(PoolNode(pool_id=pool.id, node_id=node_id, status=PoolNodeStatus.PENDING))
            changed.add(node_id)
        elif found.status == PoolNodeStatus.REMOVING:  # enabled again before it was removed
            found.status, found.message = PoolNodeStatus.PENDING, ""
            changed.add(node_id)
    return changed


def destroy_pool(
    db: Session, principal: Principal, pool_id: str, *, confirm: str | None = None
) -> None:
    """Mark the pool for destruction: propagation removes it from every node, then
    forgets it (its name stays taken until then). Refused while any node holds volumes
    in it. A pool enabled nowhere is forgotten at once."""
    pool = _load(db, principal, pool_id, Action.POOL_DELETE)
    check_confirm(confirm, f"Destroying storage pool {pool.name} ({pool.id})")
    if pool.destroying:
        return  # already marked: destroying again asks for nothing new
    luns = pool.type == PoolType.ISCSI
    holdings = q.pool_holdings(db, pool.id, attached_only=luns)
    busy = {n: c for n, c in holdings.items() if c != (0, 0)}
    if busy:
        names = {n.id: n for n in tq.nodes(db, UNSCOPED, cluster_ids=[pool.cluster_id])}
        free = (
            "Detach them from their instances, then destroy it."
            if luns
            else "Destroy those volumes (or images), or disable the pool on those nodes once "
            "they are gone, then destroy it."
        )
        raise Conflict(
            f"Storage pool {pool.name} ({pool.id}) can't be destroyed: it still holds "
            f"{_describe_holdings(busy, names, luns=luns)}. {free}"
        )
    states = q.pool_states(db, [pool.id], UNSCOPED)
    pool.destroying = True
    for state in states:
        state.status, state.message = PoolNodeStatus.REMOVING, ""
    record_change(
        db,
        principal,
        Action.POOL_DELETE,
        # Enabled nowhere: nothing to clean up, so it is gone now; else propagation ends it.
        event=EventKind.POOL_UPDATED if states else EventKind.POOL_DELETED,
        target_id=pool.id,
        organization_id=pool.organization_id,
        data={"cluster_id": pool.cluster_id},
    )
    if not states:
        propagation.forget_pool(db, pool)
        return
    propagation.queue_syncs(db, {s.node_id for s in states})


def _describe_holdings(
    busy: dict[str, tuple[int, int]], nodes: dict[str, Node], *, luns: bool = False
) -> str:
    """What holds the pool where; ``luns``: the volumes counted are attached LUNs."""
    parts = []
    for node_id, (volumes, images) in sorted(busy.items()):
        node = nodes.get(node_id)
        where = f"node {node.name} ({node_id})" if node else f"node {node_id}"
        kind = "attached LUN volume(s)" if luns else "volume(s)"
        held = [f"{volumes} {kind}"] if volumes else []
        held += [f"{images} image(s)"] if images else []
        parts.append(f"{' and '.join(held)} on {where}")
    return "; ".join(parts)


# Checks -----------------------------------------------------------------------------------


def _check_name_free(db: Session, cluster: Cluster, name: str) -> None:
    holder = q.pool_by_name(db, cluster.id, name)
    if holder is None:
        return
    if holder.destroying:
        raise Conflict(
            f"The name {name!r} is unavailable until cleanup finishes: storage pool "
            f"{holder.id} of that name is marked for destruction. Wait until it is gone, "
            "or choose another name.",
            field="name",
        )
    raise Conflict(
        f"Cluster {cluster.name} already has a storage pool named {name!r}; pool names are "
        "unique in a cluster, so choose another name.",
        field="name",
    )


def _check_target_free(
    db: Session, cluster: Cluster, kind: PoolType, config: dict[str, Any]
) -> None:
    """The seed: a target path must not conflict with other netfs or directory pools
    (the same directory, or one inside the other, would mix their files)."""
    target = pool_config.target_path(kind, config)
    if not target:
        return
    for other in q.file_pools(db, cluster.id):
        theirs = pool_config.target_path(other.type, other.config)
        if theirs and pool_config.paths_overlap(target, theirs):
            raise InvalidInput(
                f"Target path {target} conflicts with storage pool {other.name} ({other.id}) "
                f"at {theirs}: a target path must not conflict with other netfs or directory "
                "pools (the same directory or one inside the other). Choose a path outside it.",
                field="config.path",
            )


def _check_not_destroying(pool: StoragePool) -> None:
    if pool.destroying:
        raise Conflict(
            f"Storage pool {pool.name} ({pool.id}) is marked for destruction; it can't be "
            "changed while it is cleaned up."
        )


def _cluster(db: Session, principal: Principal, cluster_id: str) -> Cluster:
    cluster = tq.get_cluster(db, cluster_id, principal.scope)
    if cluster is None:
        raise NotFound(f"Cluster {cluster_id} does not exist.", field="cluster_id")
    return cluster


def _load(db: Session, principal: Principal, pool_id: str, action: Action) -> StoragePool:
    pool = q.get_pool(db, pool_id, principal.scope)
    if pool is None:
        raise NotFound(f"Storage pool {pool_id} does not exist.", field="id")
    authorize(
        principal, action, pool.organization_id, paths.of_cluster(db, pool.cluster_id, pool.id)
    )
    return pool


# The node's view and set-up ---------------------------------------------------------------


def create_default_pool(db: Session, node: Node, path: str) -> StoragePool:
    """The node's first pool: a directory that holds images and volumes. A cluster has
    one default pool; a node set up into a cluster that has it is enabled on it."""
    pool = q.pool_by_name(db, node.cluster_id, DEFAULT_POOL_NAME)
    created = pool is None
    if pool is None:
        pool = StoragePool(
            id=new_id(Prefix.POOL),
            organization_id=node.organization_id,
            cluster_id=node.cluster_id,
            name=DEFAULT_POOL_NAME,
            type=PoolType.DIRECTORY,
            config={"path": path},
            description="Created at installation.",
            can_hold_images=True,
            is_default=True,
            creation=clock.now(),
        )
        db.add(pool)
        db.flush()
    if q.pool_node(db, pool.id, node.id, UNSCOPED) is None:
        db.add(PoolNode(pool_id=pool.id, node_id=node.id, status=PoolNodeStatus.PENDING))
    events.publish(
        db,
        EventKind.POOL_CREATED if created else EventKind.POOL_UPDATED,
        organization_id=pool.organization_id,
        target_id=pool.id,
        data={"cluster_id": pool.cluster_id},
    )
    return pool


def list_node_pools(db: Session, principal: Principal, node_id: str) -> list[NodePoolView]:
    rows = q.node_pools(db, node_id, principal.scope)
    check = principal.check_for(Action.POOL_READ)
    if check is not None:
        # A pool belongs to its cluster: (datacenter, cluster, pool).
        rows = [
            r
            for r in rows
            if check(
                full_path(r[0].organization_id, paths.of_cluster(db, r[0].cluster_id, r[0].id))
            )
        ]
    counts = q.volume_counts(db, node_id, principal.scope)
    return [
        NodePoolView(
            id=pool.id,
            type=pool.type,
            name=pool.name,
            initialized=state.status != PoolNodeStatus.PENDING,
            available=state.status == PoolNodeStatus.READY,
            can_hold_images=pool.can_hold_images,
            capacity_bytes=state.capacity_bytes,
            allocation_bytes=state.allocation_bytes,
            available_bytes=state.available_bytes,
            volume_count=int(counts.get(pool.id, 0)),
            path=pool_config.target_path(pool.type, pool.config),
            message=state.message,
        )
        for pool, state in rows
    ]


def pool_on_node(db: Session, pool_id: str, node_id: str, *, field: str) -> StoragePool:
    """The pool, enabled on the node; else InvalidInput naming ``field``. Callers reached
    the node through a scoped selector, and a pool enabled on a node is visible with it,
    so this reads unscoped."""
    row = q.pool_on_node(db, pool_id, node_id, UNSCOPED)
    if row is None:
        raise InvalidInput(
            f"Storage pool {pool_id} is not enabled on node {node_id}; choose a pool of "
            "that node (GET /v1/nodes/{id}/storage/pools).",
            field=field,
        )
    return row


def default_pool(db: Session, node_id: str) -> StoragePool:
    pool = q.default_pool(db, node_id, UNSCOPED)  # set-up and the agent: as the node
    if pool is None:
        raise NotFound(f"Node {node_id} has no default storage pool.")
    return pool
