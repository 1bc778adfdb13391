"""Where an object sits in the resource tree, as ``access.authorize`` takes it: the IDs
below its organization, down to the object itself.

    datacenter  (dc,)
    cluster     (dc, cluster)
    node        (dc, cluster, node)
    instance    (dc, cluster, node, instance)       images and volumes likewise, on their node
    pool        (dc, cluster, pool)                 a pool belongs to its cluster
    task        (dc, cluster, node, target, task)   the target left out when it is the node

So ``{"action": "instance.power", "resource": "cls-X/*"}`` covers every instance of the
cluster, ``inst-X/*`` a task working on that instance, and ``inst-X`` the instance itself.
The organization is not part of these paths: ``authorize`` puts it first.

A node's place is read once per process (``store.queries.tenancy.node_paths``); an object
whose node is gone keeps what it knows, its own ID.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from sqlalchemy.orm import Session

from cloudenv.store.queries import tenancy as q

Path = tuple[str, ...]


class OnNode(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def node_id(self) -> str: ...


class InCluster(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def cluster_id(self) -> str: ...


class TaskLike(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def node_id(self) -> str | None: ...
    @property
    def target_id(self) -> str | None: ...


def datacenter_path(datacenter_id: str) -> Path:
    return (datacenter_id,)


def cluster_path(datacenter_id: str, cluster_id: str) -> Path:
    return (datacenter_id, cluster_id)


def node_path(db: Session, node_id: str) -> Path:
    return q.node_path(db, node_id) or (node_id,)


def on_node(db: Session, node_id: str, object_id: str) -> Path:
    """An instance's, image's or volume's path: its node's, then itself."""
    return (*node_path(db, node_id), object_id)


def of_cluster(db: Session, cluster_id: str, object_id: str) -> Path:
    """A pool's path: its cluster's, then itself."""
    datacenter = q.cluster_datacenter(db, cluster_id)
    return (datacenter, cluster_id, object_id) if datacenter else (cluster_id, object_id)


def task_target(db: Session, task: TaskLike) -> Path:
    """Where a task works: its target's path (its node's when the node is the target)."""
    base = node_path(db, task.node_id) if task.node_id else ()
    if task.target_id and task.target_id != task.node_id:
        return (*base, task.target_id)
    return base


def task_path(db: Session, task: TaskLike) -> Path:
    return (*task_target(db, task), task.id)


def on_nodes(db: Session, items: Iterable[OnNode]) -> dict[str, Path]:
    """Each item's path, by its ID: one query for the nodes not placed yet."""
    listed = list(items)
    places = q.node_paths(db, {i.node_id for i in listed})
    return {i.id: (*places.get(i.node_id, (i.node_id,)), i.id) for i in listed}


def tasks_paths(db: Session, tasks: Iterable[TaskLike]) -> dict[str, Path]:
    listed = list(tasks)
    places = q.node_paths(db, {t.node_id for t in listed if t.node_id})
    paths = {}
    for task in listed:
        base = places.get(task.node_id, (task.node_id,)) if task.node_id else ()
        if task.target_id and task.target_id != task.node_id:
            base = (*base, task.target_id)
        paths[task.id] = (*base, task.id)
    return paths
