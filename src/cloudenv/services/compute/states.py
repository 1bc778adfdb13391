"""The instance state machine, as data, enforced at the service entry.

creating ──deploy ok──► running ◄──start── stopped ◄──(guest powers off)── running
    │                    │  ▲                 ▲
    └──deploy failed──► (removed)             │
                         ├──stop──► stopping ─┤   (timeout: back to running, task failed)
                         ├──kill──────────────┤   (also while stopping/restarting)
                         └──restart──► restarting ──► running
stopped ──destroy──► destroying ──► (removed)
error: the agent could not make the instance match; start, kill and destroy are allowed.
"""

from __future__ import annotations

from enum import StrEnum

from cloudenv.enums import DesiredState
from cloudenv.enums import InstanceState as InstanceState  # stored in instances.state


class PowerAction(StrEnum):
    """The product's power actions (``POST /v1/instances/{id}/power``)."""

    START = "start"
    STOP = "stop"
    RESTART = "restart"
    KILL = "kill"


S = InstanceState

#: action -> (states it may start from, state while it runs, desired state afterwards)
POWER_RULES: dict[PowerAction, tuple[frozenset[InstanceState], InstanceState, DesiredState]] = {
    PowerAction.START: (frozenset({S.STOPPED, S.ERROR}), S.STARTING, DesiredState.RUNNING),
    PowerAction.STOP: (frozenset({S.RUNNING}), S.STOPPING, DesiredState.STOPPED),
    PowerAction.RESTART: (frozenset({S.RUNNING}), S.RESTARTING, DesiredState.RUNNING),
    PowerAction.KILL: (
        frozenset({S.RUNNING, S.STOPPING, S.RESTARTING, S.STARTING, S.ERROR}),
        S.STOPPING,
        DesiredState.STOPPED,
    ),
}

#: Kill may take over from these running tasks (Force Stop while a stop hangs).
KILL_PREEMPTS = frozenset({S.STOPPING, S.RESTARTING, S.STARTING})

DESTROYABLE = frozenset({S.STOPPED, S.ERROR})
EDITABLE_RESOURCES = frozenset({S.STOPPED})

#: What a user reads in messages and the UI.
LABELS = {
    S.CREATING: "being deployed",
    S.STOPPED: "stopped",
    S.STARTING: "starting",
    S.RUNNING: "running",
    S.STOPPING: "stopping",
    S.RESTARTING: "restarting",
    S.DESTROYING: "being destroyed",
    S.ERROR: "in error",
}
