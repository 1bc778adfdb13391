/**
 * The instance state machine as the UI needs it: which action each state allows, by the
 * rules the server enforces (`services/compute/states.py`: POWER_RULES, KILL_PREEMPTS,
 * DESTROYABLE, EDITABLE_RESOURCES), so a control is disabled with the server's reason
 * before the user tries, and re-enabled as soon as the event feed brings the new state.
 * The server stays the judge: a refusal it sends anyway is shown as it words it.
 */
import type { Instance } from "../../api/queries";

export type PowerAction = "start" | "stop" | "restart" | "kill";

/** What the user reads for each state (the seed's "Running", "Stopped", ...). */
export const STATE_TITLES: Record<string, string> = {
  creating: "Deploying",
  stopped: "Stopped",
  starting: "Starting",
  running: "Running",
  stopping: "Stopping",
  restarting: "Restarting",
  destroying: "Destroying",
  error: "Error",
};

export function stateTitle(state: string): string {
  return STATE_TITLES[state] ?? state;
}

/** A state the instance only passes through while a task works on it. */
export function isTransient(state: string): boolean {
  return ["creating", "starting", "stopping", "restarting", "destroying"].includes(state);
}

/** A state's badge colour (PatternFly Label colours): green running, red error, blue on
 * the move, grey stopped or unknown. The one mapping the tree, the node's instance list
 * and the instance page share, so all three colour a state alike. */
export type StateColor = "green" | "grey" | "blue" | "red";

export function stateColor(state: string): StateColor {
  if (state === "running") return "green";
  if (state === "error") return "red";
  return isTransient(state) ? "blue" : "grey";
}

const POWER_FROM: Record<PowerAction, readonly string[]> = {
  start: ["stopped", "error"],
  stop: ["running"],
  restart: ["running"],
  kill: ["running", "stopping", "restarting", "starting", "error"],
};

/** Force Stop may take over from these tasks (a stop that hangs, say). */
const KILL_PREEMPTS: readonly string[] = ["stopping", "restarting", "starting"];

/** The action as the user knows it (the seed's words), for the reasons shown. */
const POWER_WORDS: Record<PowerAction, string> = {
  start: "start",
  stop: "stop",
  restart: "restart",
  kill: "be force stopped",
};

const POWER_HINTS: Record<PowerAction, string> = {
  start: "it is already on or busy",
  stop: "it is not running",
  restart: "it is not running",
  kill: "it is already stopped",
};

/** The instance's state in a sentence's words ("running", "being deployed"). */
function stateWords(state: string): string {
  if (state === "error") return "in error";
  return stateTitle(state).toLowerCase();
}

function busyReason(instance: Instance): string | undefined {
  if (!instance.current_task_id) return undefined;
  return `It is busy with task ${instance.current_task_id} (${stateWords(instance.state)}); wait for it to finish.`;
}

/** Why `action` is refused now, or undefined when the server would accept it. */
export function powerRefusal(instance: Instance, action: PowerAction): string | undefined {
  if (!POWER_FROM[action].includes(instance.state)) {
    return `It is ${stateWords(instance.state)}, so it can't ${POWER_WORDS[action]}: ${POWER_HINTS[action]}.`;
  }
  if (action === "kill" && KILL_PREEMPTS.includes(instance.state)) return undefined;
  return busyReason(instance);
}

/** Why Destroy is refused now: only a stopped (or failed) instance that no task holds. */
export function destroyRefusal(instance: Instance): string | undefined {
  if (!["stopped", "error"].includes(instance.state)) {
    return `It is ${stateWords(instance.state)}; an instance must be in the Stopped state before it can be destroyed (stop it first, or use Force Stop).`;
  }
  return busyReason(instance);
}

/** Why CPU and memory can't be changed now (they apply at the next start). */
export function resourcesRefusal(instance: Instance): string | undefined {
  if (instance.state !== "stopped") {
    return `It is ${stateWords(instance.state)}; stop it to change CPU or memory.`;
  }
  return undefined;
}

/** Why devices, or snapshots, can't be changed now: running or stopped, and not busy. */
export function changeRefusal(instance: Instance): string | undefined {
  if (!["running", "stopped"].includes(instance.state)) {
    return `It is ${stateWords(instance.state)}; this can be done when it is running or stopped.`;
  }
  return busyReason(instance);
}

/** Why snapshots can't be taken, reverted or deleted now. A container's root filesystem
 * is a directory on its pool, not a disk image, so the node has nothing to snapshot. */
export function snapshotRefusal(instance: Instance): string | undefined {
  if (isContainer(instance)) {
    return "Containers have no snapshots: a container's root filesystem is a directory, not a disk image.";
  }
  return changeRefusal(instance);
}

/** The API's instance type numbers this platform deploys (API-COMPAT.md: 1 lxc, 2 qemu). */
export const INSTANCE_TYPES = { lxc: 1, qemu: 2 } as const;

/** A virtual machine has a screen (VNC); a container has only a text console. */
export function isVm(instance: Pick<Instance, "type">): boolean {
  return instance.type === INSTANCE_TYPES.qemu;
}

/** A system container (LXC, or the product's other container types): no screen, no firmware. */
export function isContainer(instance: Pick<Instance, "type">): boolean {
  return !isVm(instance);
}

/** "Virtual machine (QEMU)" or "Container (LXC)", from the product's type numbers: the
 * seed's "Instance Type: QEMU or LXC" in the words the deploy wizard offers them. */
export function typeTitle(type: number): string {
  switch (type) {
    case 0:
      return "Container (Docker)";
    case INSTANCE_TYPES.lxc:
      return "Container (LXC)";
    case INSTANCE_TYPES.qemu:
      return "Virtual machine (QEMU)";
    case 3:
      return "Container (Podman)";
    default:
      return `Type ${type}`;
  }
}
