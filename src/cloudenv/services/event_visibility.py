"""Which events a caller's policies let it see: an event is shown to a caller who sees its
organization (the scope) and may read what it is about, the read action of its kind's
area (``instance.*`` events: ``instance.read``) at the object's path.

The events stream hands each event to many streams: ``gates`` works out, once per batch,
what reading each event takes (two queries at most: the tasks' and the images' places;
nodes are placed from the per-process cache), and ``may_see`` answers per stream with a
compiled set lookup. An event whose object is gone and whose place its data does not
name (a deleted image) falls back to the coarse check: the read action allowed
somewhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloudenv.services import paths
from cloudenv.services.access import Action, Principal, full_path
from cloudenv.services.events import EventView
from cloudenv.store.queries import tenancy as q
from cloudenv.store.tables import Cluster, Image, Task

#: What reading an event takes, by its kind's area (``instance.state_changed``: instance).
AREA_READS: dict[str, Action] = {
    "deployment": Action.ORGANIZATION_READ,
    "organization": Action.ORGANIZATION_READ,
    "datacenter": Action.DATACENTER_READ,
    "cluster": Action.CLUSTER_READ,
    "node": Action.NODE_READ,
    "task": Action.TASK_READ,
    "image": Action.IMAGE_READ,
    "instance": Action.INSTANCE_READ,
}


@dataclass(frozen=True)
class Gate:
    """What reading one event takes: ``action`` at ``path`` below its organization, or,
    with ``path`` None (the object's place is unknown), ``action`` allowed somewhere."""

    action: Action
    path: tuple[str, ...] | None


def read_action(kind: str) -> Action:
    """The read action of an event kind's area; an area without one (an IAM event, say)
    takes ``organization.read`` plus the scope, as every event did before policies."""
    area = kind.partition(".")[0]
    found = AREA_READS.get(area)
    if found is not None:
        return found
    try:
        return Action(f"{area}.read")
    except ValueError:
        return Action.ORGANIZATION_READ


def gates(db: Session, events: Sequence[EventView]) -> dict[int, Gate]:
    """What reading each event takes, by event ID (a few queries for the whole batch)."""
    task_ids = {e.target_id for e in events if e.kind.startswith("task.") and e.target_id}
    image_ids = {e.target_id for e in events if e.kind.startswith("image.") and e.target_id}
    cluster_ids = {e.target_id for e in events if e.kind.startswith("cluster.") and e.target_id}
    # A pool's events name its cluster: a pool sits at (datacenter, cluster, pool).
    cluster_ids |= {
        str(e.data["cluster_id"])
        for e in events
        if e.kind.startswith("pool.") and e.data.get("cluster_id")
    }
    found_tasks = (
        {t.id: t for t in db.scalars(select(Task).where(Task.id.in_(task_ids)))} if task_ids else {}
    )
    task_places = paths.tasks_paths(db, found_tasks.values())
    image_nodes: dict[str, str] = {}
    if image_ids:
        rows = db.execute(select(Image.id, Image.node_id).where(Image.id.in_(image_ids)))
        image_nodes = {image_id: node_id for image_id, node_id in rows}
    cluster_dcs: dict[str, str] = {}
    if cluster_ids:
        rows = db.execute(
            select(Cluster.id, Cluster.datacenter_id).where(Cluster.id.in_(cluster_ids))
        )
        cluster_dcs = {cluster_id: dc for cluster_id, dc in rows}
    node_ids = set(image_nodes.values())
    node_ids |= {
        e.target_id for e in events if e.kind.startswith("node.") and e.target_id is not None
    }
    node_ids |= {
        str(e.data["node_id"])
        for e in events
        if e.kind.startswith(("instance.", "volume.")) and e.data.get("node_id")
    }
    places = q.node_paths(db, node_ids)
    out: dict[int, Gate] = {}
    for event in events:
        area = event.kind.partition(".")[0]
        target = event.target_id
        path: tuple[str, ...] | None = None
        if area in ("deployment", "organization"):
            path = ()
        elif target is None:
            path = None
        elif area == "datacenter":
            path = (target,)
        elif area == "cluster":
            path = (cluster_dcs[target], target) if target in cluster_dcs else None
        elif area == "pool":
            cluster = str(event.data.get("cluster_id", ""))
            path = (cluster_dcs[cluster], cluster, target) if cluster in cluster_dcs else None
        elif area == "node":
            path = places.get(target)
        elif area in ("instance", "volume"):  # both name their node in data
            node = event.data.get("node_id")
            path = (*places[node], target) if node in places else None
        elif area == "image":
            node = image_nodes.get(target)
            path = (*places[node], target) if node in places else None
        elif area == "task":
            path = task_places.get(target)
        out[event.id] = Gate(read_action(event.kind), path)
    return out


def may_see(principal: Principal, event: EventView, gate: Gate) -> bool:
    """Whether ``principal`` is shown ``event``: its scope sees the organization and its
    policies allow what ``gate`` says reading the event takes."""
    if not principal.sees(event.organization_id):
        return False
    if gate.path is None:
        return principal.may_somewhere(gate.action)
    return principal.may(gate.action, full_path(event.organization_id, gate.path))
