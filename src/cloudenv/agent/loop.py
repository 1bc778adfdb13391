"""The agent's threads: a task dispatcher with a pool of workers, and a scheduler that
runs the node's system jobs (``agent.jobs``): the heartbeat, keeping observed instance
state in step with the hypervisor, metrics, storage upkeep, purges.

The dispatcher claims this node's queued tasks (compare-and-swap in the database, so no
task runs twice) while a worker is free; different instances' tasks run side by side, one
instance's never (its services refuse a second action while one holds it). It wakes on a
nudge (a task was just committed on this node) or every second, so tasks written by
another node's API are picked up too.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from cloudenv.agent import compute, network, pools
from cloudenv.agent.context import TaskContext
from cloudenv.agent.drivers import Drivers
from cloudenv.agent.handlers import HANDLERS, RECOVERIES
from cloudenv.agent.health import collect_facts
from cloudenv.agent.jobs import Job, Scheduler
from cloudenv.agent.metrics import SAMPLE_SECONDS, MetricsSampler
from cloudenv.drivers.compute.base import ArchCapabilities, ComputeDriver, PowerState
from cloudenv.errors import CloudenvError
from cloudenv.services import audit, auth, tasks
from cloudenv.services.access import SYSTEM
from cloudenv.services.compute import execution
from cloudenv.services.compute.instances import set_power_state
from cloudenv.services.compute.states import PowerAction
from cloudenv.services.storage.propagation import PASS_SECONDS
from cloudenv.services.tenancy import nodes
from cloudenv.store.engine import transaction

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10.0
#: How often instance states are read back from the hypervisor (lifecycle events may be
#: missed) and storage pools' usage is read.
SYNC_SECONDS = 10.0
#: How often audit rows past their retention and expired sessions are deleted.
AUDIT_PURGE_SECONDS = 3600.0
SESSION_PURGE_SECONDS = 3600.0
#: How often the node's NICs are read again (their link, MTU, addresses).
NICS_SECONDS = 60.0
IDLE_POLL_SECONDS = 1.0
WORKERS = 8


class Agent:
    def __init__(
        self,
        node_id: str,
        session_factory: sessionmaker[Session],
        drivers: Drivers | None = None,
        *,
        workers: int = WORKERS,
        audit_retention_days: int = 0,
    ) -> None:
        self.node_id = node_id
        #: Audit rows older than this many days are deleted (0: kept forever).
        self.audit_retention_days = audit_retention_days
        self.factory = session_factory
        self.drivers = drivers or Drivers(None, None, unavailable="no drivers configured")
        self._wake = threading.Event()
        self._stop = threading.Event()
        #: Containers the last instance sync saw stopped (``_release_stopped``).
        self._seen_stopped: set[str] = set()
        self._free = threading.Semaphore(workers)
        self._threads: list[threading.Thread] = []
        self._running: set[threading.Thread] = set()
        self.jobs = Scheduler(node_id, session_factory, self._system_jobs())

    def _system_jobs(self) -> list[Job]:
        """The node's periodic work, the heartbeat first (see ``agent.jobs``)."""
        sampler = MetricsSampler(self.node_id, self.factory, self.drivers)
        return [
            Job("heartbeat", "Heartbeat and health report", HEARTBEAT_SECONDS, self._heartbeat),
            Job("instance.sync", "Instance states from the hypervisor", SYNC_SECONDS,
                self._sync_instances),
            Job("pool.usage", "Storage pool usage", SYNC_SECONDS, self._refresh_pools),
            Job("metrics.sample", "Node and instance usage", SAMPLE_SECONDS, sampler.sample),
            Job("pool.propagation", "Storage pool propagation", PASS_SECONDS, self._propagate),
            # Each node its own, at the pass's pace: every listing is an iSCSI login.
            Job("pool.lun_rescan", "iSCSI LUN rescan", PASS_SECONDS, self._rescan_luns),
            Job("nics.refresh", "Network interfaces", NICS_SECONDS, self._refresh_nics),
            Job("audit.purge", "Audit retention purge", AUDIT_PURGE_SECONDS, self._purge_audit),
            Job("session.purge", "Expired session purge", SESSION_PURGE_SECONDS,
                self._purge_sessions),
        ]  # fmt: skip

    def start(self) -> None:
        """Fail what a previous run left half-done, say we're alive, start the threads, then
        start the instances marked autostart. The jobs that matter at once run here first,
        in this order; the scheduler runs each again an interval later."""
        with transaction(self.factory) as db:
            interrupted = tasks.fail_interrupted(db, self.node_id)
        if interrupted:
            log.warning("marked %d interrupted task(s) as failed", len(interrupted))
        self.jobs.begin()
        for name in ("heartbeat", "session.purge", "audit.purge"):
            self.jobs.run_now(name)
        self._recover(interrupted)
        self._report_capabilities()
        self.jobs.run_now("instance.sync")
        for driver in self.drivers.hypervisors():
            driver.watch_lifecycle(self._on_lifecycle)
        self._autostart()
        self.jobs.run_now("pool.propagation")
        # OVS keeps its bridges across our restarts but not always across its own:
        # reconcile now (the sync also reads the NICs).
        self.jobs.run_now("nics.refresh")
        network.queue_start_sync(self.node_id, self.factory, self.drivers)
        for target, name in ((self._dispatch, "tasks"), (self._schedule, "jobs")):
            thread = threading.Thread(target=target, name=f"cloudenv-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:  # first: the dispatcher starts no worker after this
            thread.join(timeout)
        for thread in list(self._running):
            thread.join(timeout)

    def nudge(self) -> None:
        """Something for this node was committed: look now rather than at the next poll."""
        self._wake.set()

    def run_pending(self) -> int:
        """Run every queued task of this node now, one by one (tests use this)."""
        ran = 0
        while (claim := self._claim()) is not None:
            self._run(claim)
            ran += 1
        return ran

    # Tasks -----------------------------------------------------------------------------

    def _claim(self) -> tasks.TaskClaim | None:
        with transaction(self.factory) as db:
            return tasks.claim_next(db, self.node_id)

    def _dispatch(self) -> None:
        while not self._stop.is_set():
            if not self._free.acquire(timeout=IDLE_POLL_SECONDS):
                continue
            try:
                claim = self._claim()
            except Exception:
                log.exception("claiming a task failed; retrying")
                claim = None
            if claim is None:
                self._free.release()
                self._wake.wait(IDLE_POLL_SECONDS)
                self._wake.clear()
                continue
            worker = threading.Thread(
                target=self._work, args=(claim,), name=f"cloudenv-task-{claim.id}", daemon=True
            )
            self._running.add(worker)
            worker.start()

    def _work(self, claim: tasks.TaskClaim) -> None:
        try:
            self._run(claim)
        finally:
            self._running.discard(threading.current_thread())
            self._free.release()
            self._wake.set()  # a freed worker may take the next queued task

    def _run(self, claim: tasks.TaskClaim) -> None:
        handler = HANDLERS.get(claim.kind)

        def report(**kwargs: Any) -> None:
            with transaction(self.factory) as db:
                tasks.report(db, claim.id, **kwargs)

        error: str | None = None
        try:
            if handler is None:
                raise CloudenvError(f"This node does not know how to run {claim.kind} tasks.")
            handler(claim, TaskContext(self.node_id, self.factory, self.drivers, report))
        except CloudenvError as exc:
            error = exc.message
        except Exception as exc:
            log.exception("task %s (%s) crashed: %s", claim.id, claim.kind, exc)
            # The exception's text may hold host paths or SQL: it goes to the log only.
            error = f"The task failed unexpectedly; the node's log has the details ({claim.id})."
        if error is not None and claim.kind.startswith("instance."):
            self._settle(claim)
        with transaction(self.factory) as db:
            tasks.finish(db, claim.id, error=error)

    def _settle(self, claim: tasks.TaskClaim) -> None:
        """A failed instance task must not leave its instance busy: whatever ended it, the
        instance takes the state the hypervisor reports, or error when it can't be asked
        (handlers that undo more, as a failed deploy does, have already done so; then this
        finds nothing to release)."""
        if claim.target_id is None:
            return
        running: bool | None = None
        try:
            if self.drivers.hypervisors():
                running = self.drivers.domain_state(claim.target_id) == PowerState.RUNNING
        except Exception:
            log.exception("reading the state of %s failed", claim.target_id)
        unknown = (
            "The hypervisor could not be asked for this instance's state; start, kill or "
            "destroy it once it is reachable."
        )
        try:
            with transaction(self.factory) as db:
                execution.release_if_held(
                    db,
                    claim.target_id,
                    claim.id,
                    running=running,
                    message=unknown if running is None else "",
                )
        except Exception:
            log.exception("settling %s after task %s failed", claim.target_id, claim.id)

    def _recover(self, interrupted: list[tasks.TaskClaim]) -> None:
        for claim in interrupted:
            is_instance = claim.kind.startswith("instance.")
            repair = RECOVERIES.get(claim.kind) or (compute.recover if is_instance else None)
            if repair is None:
                continue
            if is_instance and not self.drivers.hypervisors():
                self._settle(claim)  # no hypervisor to ask: free it, in error
                continue
            ctx = TaskContext(self.node_id, self.factory, self.drivers, lambda **_: None)
            try:
                outcome = repair(claim, ctx)
            except Exception:
                log.exception("recovering after task %s failed", claim.id)
                outcome = (
                    "Repairing what it left failed; the node's log has the details. "
                    "Destroy the instance or image if it stays in error."
                )
                if is_instance:
                    self._settle(claim)
            with transaction(self.factory) as db:
                tasks.report(db, claim.id, line=outcome)

    def _report_capabilities(self) -> None:
        if self.drivers.compute is None:
            return
        try:
            capabilities = self.drivers.compute.capabilities()
            datapath = {**self._datapath(), **self._containers()}
            with transaction(self.factory) as db:
                nodes.report_capabilities(
                    db,
                    self.node_id,
                    {
                        arch: {**capabilities_json(caps), **datapath}
                        for arch, caps in capabilities.items()
                    },
                )
        except Exception:
            log.exception("reading the hypervisor's capabilities failed")

    def _containers(self) -> dict[str, bool | str]:
        """Whether this node runs containers (libvirt's LXC driver answered), and why
        not, reported beside the accelerator."""
        if self.drivers.containers is None:
            return {"containers": False, "containers_reason": self.drivers.containers_unavailable}
        return {"containers": True, "containers_reason": ""}

    def _datapath(self) -> dict[str, str | None]:
        """Where this node's OVS switches packets (``system`` or ``netdev``), or null and
        why not, reported beside the accelerator."""
        try:
            return {
                "datapath": self.drivers.need_network().datapath().value,
                "datapath_reason": "",
            }
        except CloudenvError as exc:
            return {"datapath": None, "datapath_reason": exc.message}

    # Observed state ---------------------------------------------------------------------

    def _on_lifecycle(self, name: str, state: PowerState) -> None:
        try:
            with transaction(self.factory) as db:
                execution.observe_power(
                    db, name, state == PowerState.RUNNING, confirm=self._asker(name)
                )
        except Exception:
            log.exception("recording a state change of %s failed", name)

    def _asker(self, name: str) -> Callable[[], bool | None]:
        """Asks the hypervisor, when called, whether domain ``name`` runs (None: unknown)."""

        def ask() -> bool | None:
            state = self.drivers.domain_state(name) if self.drivers.hypervisors() else None
            return None if state is None else state == PowerState.RUNNING

        return ask

    def _sync_instances(self) -> None:
        """Backs up lifecycle events: read every domain's state (VMs and containers) and
        record it; then let go of containers that stopped on their own."""
        drivers = self.drivers.hypervisors()
        if not drivers:
            return
        domains = {}
        for driver in drivers:
            listed = driver.list_domains()
            domains.update(listed)
            if driver is self.drivers.containers:
                self._release_stopped(driver, listed)
        with transaction(self.factory) as db:
            for instance in execution.instance_ids(db, self.node_id):
                state = domains.get(instance)
                if state is not None:
                    execution.observe_power(
                        db, instance, state == PowerState.RUNNING, confirm=self._asker(instance)
                    )

    def _release_stopped(self, containers: ComputeDriver, listed: dict[str, PowerState]) -> None:
        """A container that powered itself off keeps its filesystem volumes mounted on the
        node until it is let go of. Only one seen stopped by the previous pass as well:
        libvirt restarts a container whose init rebooted, and its volumes must still be
        there then (the restart takes well under a pass)."""
        stopped = {name for name, state in listed.items() if state != PowerState.RUNNING}
        for name in stopped & self._seen_stopped:
            try:
                containers.release(name)  # nothing when it runs again, or has nothing mounted
            except CloudenvError as exc:
                log.warning("letting go of the volumes of stopped container %s: %s", name, exc)
        self._seen_stopped = stopped

    def _autostart(self) -> None:
        if not self.drivers.hypervisors():
            return
        with transaction(self.factory) as db:
            candidates = execution.autostart_instances(db, self.node_id)
        for instance_id in candidates:
            try:
                if self.drivers.domain_state(instance_id) == PowerState.RUNNING:
                    continue
            except CloudenvError as exc:
                log.warning("autostart of %s: its state can't be read: %s", instance_id, exc)
                continue
            try:
                with transaction(self.factory) as db:
                    set_power_state(db, SYSTEM, instance_id, PowerAction.START)
            except CloudenvError as exc:
                log.warning("autostart of %s refused: %s", instance_id, exc.message)

    # System jobs (``_system_jobs``): each raises what stops it; the scheduler logs and
    # records it, and runs the job again at its next time.

    def _schedule(self) -> None:
        self.jobs.loop(self._stop)

    def _heartbeat(self) -> None:
        """Say this node is alive, and how it is (``services.monitoring.health``)."""
        facts = collect_facts(self.drivers)
        with transaction(self.factory) as db:
            nodes.heartbeat(db, self.node_id, facts)

    def _purge_sessions(self) -> None:
        with transaction(self.factory) as db:
            auth.purge_expired_sessions(db)

    def _purge_audit(self) -> None:
        """Bound the audit trail by age (``Settings.audit_retention_days``). Every node of
        a deployment does it against the one database; a purge another node did first
        leaves this one nothing to delete."""
        removed = audit.purge(self.factory, self.audit_retention_days)
        if removed:
            days = self.audit_retention_days
            log.info("deleted %d audit row(s) older than %d days", removed, days)

    def _propagate(self) -> None:
        """The storage propagation pass, when this node holds its cluster's lease."""
        result = pools.run_pass(self.node_id, self.factory)
        if result.queued or result.forgotten:
            log.info("storage propagation: synced %s, forgot %s", result.queued, result.forgotten)

    def _refresh_pools(self) -> None:
        pools.refresh_usage(self.node_id, self.factory, self.drivers)

    def _rescan_luns(self) -> None:
        pools.rescan_luns(self.node_id, self.factory, self.drivers)

    def _refresh_nics(self) -> None:
        network.refresh_nics(self.node_id, self.factory, self.drivers)


def capabilities_json(caps: ArchCapabilities) -> dict[str, Any]:
    """The product's ``GET /v1/nodes/{id}/capabilities`` entry for one architecture."""
    return {
        "arch": caps.arch,
        "wordsize": caps.wordsize,
        "emulator": caps.emulator,
        "kvm_supported": caps.kvm_supported,
        "accelerator": caps.accelerator.value,
        "accelerator_reason": caps.accelerator_reason,
        "firmware": caps.firmware,
        "cpu_models": [
            {"name": m.name, "vendor": m.vendor, "experimental": not m.usable}
            for m in caps.cpu_models
        ],
        "default_machine": caps.default_machine,
        "machines": [{"name": m.name, "max_vcpus": m.max_vcpus} for m in caps.machines],
        "features": caps.features,
    }
