"""The registry of what each task kind does on this node. A handler gets the claimed task
and a TaskContext; raising CloudenvError fails the task with that message."""

from __future__ import annotations

from collections.abc import Callable

from cloudenv.agent import compute, devices, images, network, pools, snapshots, volumes
from cloudenv.agent.context import Handler, TaskContext
from cloudenv.agent.facts import collect_facts
from cloudenv.services.tasks import TaskClaim, TaskKind
from cloudenv.services.tenancy import nodes
from cloudenv.store.engine import transaction


def refresh_facts(task: TaskClaim, ctx: TaskContext) -> None:
    ctx.report(progress=10, line="Reading hardware and host facts")
    facts = collect_facts()
    ctx.report(
        progress=80,
        line=f"Found {facts.hardware['vcpus']} vCPUs, {len(facts.hardware['disks'])} disk(s)",
    )
    with transaction(ctx.session_factory) as db:
        nodes.report_facts(db, ctx.node_id, hardware=facts.hardware, host=facts.host)


HANDLERS: dict[str, Handler] = {
    TaskKind.NODE_REFRESH_FACTS.value: refresh_facts,
    TaskKind.IMAGE_IMPORT.value: images.import_image,
    TaskKind.IMAGE_DELETE.value: images.delete_image,
    TaskKind.INSTANCE_DEPLOY.value: compute.deploy,
    TaskKind.INSTANCE_START.value: compute.start,
    TaskKind.INSTANCE_STOP.value: compute.stop,
    TaskKind.INSTANCE_RESTART.value: compute.restart,
    TaskKind.INSTANCE_KILL.value: compute.kill,
    TaskKind.INSTANCE_DESTROY.value: compute.destroy,
    TaskKind.INSTANCE_DEVICE_ATTACH.value: devices.attach,
    TaskKind.INSTANCE_DEVICE_DETACH.value: devices.detach,
    TaskKind.INSTANCE_SNAPSHOT_CREATE.value: snapshots.create,
    TaskKind.INSTANCE_SNAPSHOT_REVERT.value: snapshots.revert,
    TaskKind.INSTANCE_SNAPSHOT_DELETE.value: snapshots.delete,
    TaskKind.VOLUME_CREATE.value: volumes.create,
    TaskKind.VOLUME_RESIZE.value: volumes.resize,
    TaskKind.VOLUME_DESTROY.value: volumes.destroy,
    TaskKind.POOL_SYNC.value: pools.sync,
    TaskKind.NETWORK_SYNC.value: network.sync,
}

#: What repairs a task the daemon left half-done (any kind); instance.* kinds without an
#: entry use ``compute.recover``. Each returns a line for the task's log.
RECOVERIES: dict[str, Callable[[TaskClaim, TaskContext], str]] = {
    TaskKind.IMAGE_IMPORT.value: images.recover_import,
    TaskKind.INSTANCE_DEVICE_ATTACH.value: devices.recover,
    TaskKind.INSTANCE_DEVICE_DETACH.value: devices.recover,
    TaskKind.INSTANCE_SNAPSHOT_CREATE.value: snapshots.recover,
    TaskKind.INSTANCE_SNAPSHOT_REVERT.value: snapshots.recover,
    TaskKind.INSTANCE_SNAPSHOT_DELETE.value: snapshots.recover,
    TaskKind.VOLUME_CREATE.value: volumes.recover,
    TaskKind.VOLUME_RESIZE.value: volumes.recover,
    TaskKind.VOLUME_DESTROY.value: volumes.recover,
}
