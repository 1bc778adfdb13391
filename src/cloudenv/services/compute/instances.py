"""Reading and changing instances: list, get, power, edit, destroy.

Power and destroy take the instance by compare-and-swap on ``current_task_id``, so two
actions never run on one instance at once; Force Stop may take over a hanging stop.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import update
from sqlalchemy.orm import Session

from cloudenv.enums import DesiredState
from cloudenv.errors import Conflict, InvalidInput, NotFound
from cloudenv.instance_config import QemuConfig
from cloudenv.machines import Resources, check_resources
from cloudenv.services import events, paths, tasks
from cloudenv.services.access import Action, Principal, authorize, full_path
from cloudenv.services.compute.states import (
    DESTROYABLE,
    EDITABLE_RESOURCES,
    KILL_PREEMPTS,
    LABELS,
    POWER_RULES,
    InstanceState,
    PowerAction,
)
from cloudenv.services.confirmation import check_confirm
from cloudenv.services.events import EventKind
from cloudenv.services.iam import quotas
from cloudenv.services.journal import record_change
from cloudenv.services.partial import KEEP, Keep
from cloudenv.services.validation import (
    INSTANCE_NAME_MAX,
    check_description,
    check_instance_name,
)
from cloudenv.store.queries import compute as q
from cloudenv.store.queries import tenancy as tenancy_queries
from cloudenv.store.tables import Instance, Task

DEFAULT_STOP_TIMEOUT = 120
_KIND = {
    PowerAction.START: tasks.TaskKind.INSTANCE_START,
    PowerAction.STOP: tasks.TaskKind.INSTANCE_STOP,
    PowerAction.RESTART: tasks.TaskKind.INSTANCE_RESTART,
    PowerAction.KILL: tasks.TaskKind.INSTANCE_KILL,
}


class InstanceView(NamedTuple):
    """An instance as lists and reads show it (its configuration stays inside). A named
    tuple: lists build hundreds, and a tuple is made in a fraction of a frozen dataclass's
    time."""

    id: str
    node_id: str
    organization_id: str
    type: int
    name: str
    description: str
    sockets: int
    cores: int
    threads: int
    vcpus: int
    memory: int
    creation: datetime
    autostart: bool
    boot_order: int
    state: str
    desired_state: str
    state_message: str
    current_task_id: str | None


def view(instance: Instance) -> InstanceView:
    return InstanceView(
        id=instance.id,
        node_id=instance.node_id,
        organization_id=instance.organization_id,
        type=instance.type,
        name=instance.name,
        description=instance.description,
        sockets=instance.cpu_sockets,
        cores=instance.cpu_cores,
        threads=instance.cpu_threads,
        vcpus=instance.cpu_sockets * instance.cpu_cores * instance.cpu_threads,
        memory=instance.memory_mb,
        creation=instance.creation,
        autostart=instance.autostart,
        boot_order=0,
        state=instance.state,
        desired_state=instance.desired_state,
        state_message=instance.state_message,
        current_task_id=instance.current_task_id,
    )


def _row_view(row: Sequence[Any]) -> InstanceView:
    """The view of a ``store.queries.compute.instance_rows`` tuple, by position."""
    (id_, node_id, org_id, type_, name, description, sockets, cores, threads) = row[:9]
    memory, creation, autostart, state, desired, message, task_id = row[9:]
    return InstanceView(
        id_, node_id, org_id, type_, name, description, sockets, cores, threads,
        sockets * cores * threads, memory, creation, autostart, 0, state, desired, message,
        task_id,
    )  # fmt: skip


#: A name search returns this many matches unless asked for fewer or more (up to
#: ``SEARCH_MAX``): enough to show, few enough to build in milliseconds at any cloud size.
#: A caller that wants to know whether there are more asks one more than it shows.
SEARCH_DEFAULT = 200
SEARCH_MAX = 1000


def list_instances(
    db: Session,
    principal: Principal,
    *,
    node_id: str | None = None,
    cluster_id: str | None = None,
    name_contains: str | None = None,
    limit: int | None = None,
) -> list[InstanceView]:
    """The caller's instances on a node or in a cluster, by name (light rows: the UI
    polls lists of hundreds): the whole list, as the product's clients expect.

    With ``name_contains``, a name search instead: the caller's instances whose name
    holds the text in any case, everywhere or on the node or cluster given, the first
    ``limit`` by name (the tree's filter, which can't read every list at 10,000
    instances)."""
    if name_contains is None:
        if limit is not None:
            raise InvalidInput(
                "'limit' bounds a name search; give 'name_contains' with it (lists by "
                "node or cluster are always complete).",
                field="limit",
            )
        if (node_id is None) == (cluster_id is None):
            raise InvalidInput("Give exactly one of node_id or cluster_id.", field="node_id")
    else:
        if node_id is not None and cluster_id is not None:
            raise InvalidInput("Give at most one of node_id or cluster_id.", field="node_id")
        if not 1 <= len(name_contains) <= INSTANCE_NAME_MAX:
            raise InvalidInput(
                f"'name_contains' must have 1 to {INSTANCE_NAME_MAX} characters, not "
                f"{len(name_contains)}.",
                field="name_contains",
            )
        limit = SEARCH_DEFAULT if limit is None else limit
        if not 1 <= limit <= SEARCH_MAX:
            raise InvalidInput(
                f"'limit' must be between 1 and {SEARCH_MAX}, not {limit}.", field="limit"
            )
    check = principal.check_for(Action.INSTANCE_READ)
    rows = q.instance_rows(
        db,
        principal.scope,
        node_id=node_id,
        cluster_id=cluster_id,
        name_contains=name_contains,
        # A search's limit counts what the caller may read: filter first, then cut.
        limit=limit if check is None else None,
    )
    views = [_row_view(row) for row in rows]
    if check is None:
        return views
    places = paths.on_nodes(db, views)
    readable = [v for v in views if check(full_path(v.organization_id, places[v.id]))]
    return readable if limit is None else readable[:limit]


def list_version(db: Session) -> tuple[int, datetime | None]:
    """What instance lists are rendered from, and until when a rendered one may be kept:
    the newest event that may change a list (every change of an instance publishes one in
    its own transaction), and the late-commit bound (``events.late_commit_bound``)."""
    return q.instance_list_version(db), events.late_commit_bound(db)


def get_instance(db: Session, principal: Principal, instance_id: str) -> InstanceView:
    row = q.instance_row(db, principal.scope, instance_id)
    if row is None:
        raise NotFound(f"Instance {instance_id} does not exist.", field="id")
    view = _row_view(row)
    authorize(principal, Action.INSTANCE_READ, view.organization_id, path_of(db, view))
    return view


def load(
    db: Session, principal: Principal, instance_id: str, action: Action | None = None
) -> Instance:
    """The instance through the caller's scope (NotFound outside it); with ``action``,
    also checked against the caller's policies at its path (Forbidden)."""
    instance = q.get_instance(db, instance_id, principal.scope)
    if instance is None:
        raise NotFound(f"Instance {instance_id} does not exist.", field="id")
    if action is not None:
        authorize(principal, action, instance.organization_id, path_of(db, instance))
    return instance


def path_of(db: Session, instance: Instance | InstanceView) -> tuple[str, ...]:
    """Where the instance sits: (datacenter, cluster, node, instance)."""
    return paths.on_node(db, instance.node_id, instance.id)


def set_power_state(
    db: Session,
    principal: Principal,
    instance_id: str,
    action: PowerAction,
    *,
    timeout: int = DEFAULT_STOP_TIMEOUT,
) -> Task:
    instance = load(db, principal, instance_id, Action.INSTANCE_POWER)
    allowed, transient, desired = POWER_RULES[action]
    state = InstanceState(instance.state)
    if state not in allowed:
        raise Conflict(_refusal(instance, action.value))
    if not 1 <= timeout <= 3600:
        raise InvalidInput("timeout must be between 1 and 3600 seconds.", field="timeout")
    task = tasks.queue_task(
        db,
        principal,
        _KIND[action],
        node_id=instance.node_id,
        target_id=instance.id,
        organization_id=instance.organization_id,
        path=path_of(db, instance),
        params={"timeout": timeout},
    )
    preempt = action is PowerAction.KILL and state in KILL_PREEMPTS
    take_instance(db, instance, task, preempt=preempt, state=transient, desired=desired)
    return task


def update_instance(
    db: Session,
    principal: Principal,
    instance_id: str,
    *,
    name: str | Keep = KEEP,
    description: str | Keep = KEEP,
    memory_mb: int | Keep = KEEP,
    sockets: int | Keep = KEEP,
    cores: int | Keep = KEEP,
    threads: int | Keep = KEEP,
    autostart: bool | Keep = KEEP,
) -> InstanceView:
    """Name and description any time; CPU and memory only while stopped (applied at the
    next start, when the domain is defined afresh)."""
    instance = load(db, principal, instance_id, Action.INSTANCE_UPDATE)
    if not isinstance(name, Keep):
        instance.name = check_instance_name(name)
    if not isinstance(description, Keep):
        instance.description = check_description(description)
    if not isinstance(autostart, Keep):
        instance.autostart = autostart
    resources = {
        "memory": memory_mb,
        "cpu.sockets": sockets,
        "cpu.cores": cores,
        "cpu.threads": threads,
    }
    changed = {k: v for k, v in resources.items() if not isinstance(v, Keep)}
    if changed:
        if instance.state not in EDITABLE_RESOURCES:
            raise Conflict(
                f"Instance {instance.name} ({instance.id}) is "
                f"{LABELS[InstanceState(instance.state)]}; stop it to change CPU or "
                "memory."
            )
        wanted = Resources(
            sockets=int(changed.get("cpu.sockets", instance.cpu_sockets)),
            cores=int(changed.get("cpu.cores", instance.cpu_cores)),
            threads=int(changed.get("cpu.threads", instance.cpu_threads)),
            memory_mb=int(changed.get("memory", instance.memory_mb)),
        )
        _check_resources(db, principal, instance, wanted)
        quotas.enforce(
            db,
            instance.organization_id,
            quotas.Demand(
                vcpus=wanted.sockets * wanted.cores * wanted.threads
                - instance.cpu_sockets * instance.cpu_cores * instance.cpu_threads,
                memory_mb=wanted.memory_mb - instance.memory_mb,
            ),
            request="this edit",
            increase=True,
        )
        instance.memory_mb = wanted.memory_mb
        instance.cpu_sockets = wanted.sockets
        instance.cpu_cores = wanted.cores
        instance.cpu_threads = wanted.threads
    record_change(
        db,
        principal,
        Action.INSTANCE_UPDATE,
        event=EventKind.INSTANCE_UPDATED,
        target_id=instance.id,
        organization_id=instance.organization_id,
        data=events.instance_data(instance.node_id),
    )
    return view(instance)


def _check_resources(
    db: Session, principal: Principal, instance: Instance, wanted: Resources
) -> None:
    """The rule deploy applies (``cloudenv.machines.check_resources``), for an edit: the
    instance's machine type bounds its vCPUs, its node's memory bounds its memory."""
    node = tenancy_queries.get_node(db, instance.node_id, principal.scope)
    check_resources(
        wanted,
        QemuConfig.from_json(instance.config).machine,
        what=f"Instance {instance.name} ({instance.id})",
        node_memory_mb=int(node.hardware.get("memory_total_mb", 0)) if node else 0,
        node_name=node.name if node else "",
    )


def destroy_instance(
    db: Session,
    principal: Principal,
    instance_id: str,
    *,
    destroy_volumes: bool,
    confirm: str | None = None,
) -> Task:
    """Only a stopped (or failed) instance; ``confirm``, when given, must be DESTROY."""
    instance = load(db, principal, instance_id, Action.INSTANCE_DESTROY)
    check_confirm(confirm, f"Destroying instance {instance.name} ({instance.id})")
    if instance.state not in DESTROYABLE:
        raise Conflict(_refusal(instance, "destroy"))
    task = tasks.queue_task(
        db,
        principal,
        tasks.TaskKind.INSTANCE_DESTROY,
        node_id=instance.node_id,
        target_id=instance.id,
        organization_id=instance.organization_id,
        path=path_of(db, instance),
        params={"destroy_volumes": destroy_volumes},
    )
    take_instance(
        db,
        instance,
        task,
        preempt=False,
        state=InstanceState.DESTROYING,
        desired=instance.desired_state,
    )
    return task


def take_instance(
    db: Session,
    instance: Instance,
    task: Task,
    *,
    preempt: bool,
    state: InstanceState,
    desired: DesiredState,
) -> None:
    """Mark the instance busy with ``task`` unless another task holds it, and say so
    (``instance.state_changed``).

    With ``preempt`` (Force Stop taking over a hanging stop, restart or start) the holder
    may be replaced, but only while the row is still in one of ``KILL_PREEMPTS``: the
    check is part of the UPDATE, so a stale read never takes over a destroy, a deploy or
    a device or snapshot task. The task keeps what it took over (``params["held"]``), so
    cancelling it while queued gives the instance back as it was."""
    held = {
        "state": instance.state,
        "desired": instance.desired_state,
        "task": instance.current_task_id,
    }
    stmt = update(Instance).where(Instance.id == instance.id)
    if preempt:
        stmt = stmt.where(Instance.current_task_id.is_(None) | Instance.state.in_(KILL_PREEMPTS))
    else:
        stmt = stmt.where(Instance.current_task_id.is_(None))
    done = db.execute(stmt.values(current_task_id=task.id, state=state, desired_state=desired))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        db.refresh(instance)  # name the task that holds it now, not the one read before
        holder = instance.current_task_id
        busy = f"busy with task {holder}" if holder else "busy"
        raise Conflict(
            f"Instance {instance.name} ({instance.id}) is {busy} "
            f"({LABELS[InstanceState(instance.state)]}); wait for it to finish."
        )
    task.params = {**task.params, "held": held}
    db.refresh(instance)
    events.publish(
        db,
        EventKind.INSTANCE_STATE_CHANGED,
        organization_id=instance.organization_id,
        target_id=instance.id,
        data=events.instance_data(instance.node_id, state=state.value, task_id=task.id),
    )


def _refusal(instance: Instance, action: str) -> str:
    state = InstanceState(instance.state)
    hint = {
        "destroy": "stop it first (or use Force Stop)",
        "start": "it is already on or busy",
        "stop": "it is not running",
        "restart": "it is not running",
        "kill": "it is already stopped",
    }[action]
    return (
        f"Instance {instance.name} ({instance.id}) is {LABELS[state]}, so it can't "
        f"{action}: {hint}."
    )
