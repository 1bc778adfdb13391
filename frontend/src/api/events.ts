/**
 * The live feed: one EventSource on `/api/v1/events` for the whole app. Each event marks
 * stale the queries it changes, and TanStack Query refetches those that are on screen, so
 * the tree and pages follow the cloud without reloads (the one timer: node liveness, see
 * ALIVE_POLL_MS). The browser reconnects by itself with `Last-Event-ID`, and the server
 * replays what was missed.
 */
import { type QueryClient, type QueryKey, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";

import { keys } from "./queries";

/** One event as the server sends it in `data:` (see api/routers/events.py). */
export interface CloudEvent {
  id: number;
  kind: string;
  time: string;
  organization_id: string | null;
  target_id: string | null;
  data: Record<string, unknown> | null;
}

type Listener = (event: CloudEvent) => void;
const listeners = new Set<Listener>();

/** Lets a component react to events beyond cache invalidation (the tasks drawer, say). */
export function subscribe(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function stringField(data: CloudEvent["data"], name: string): string | null {
  const value = data?.[name];
  return typeof value === "string" ? value : null;
}

/** The page key of a tree resource, by the area an event's kind names. */
const PAGE_KEYS: Record<string, ((id: string) => QueryKey) | undefined> = {
  organization: keys.organization,
  datacenter: keys.datacenter,
  cluster: keys.cluster,
  node: keys.node,
};

/** What an event makes stale. Areas added later extend this switch, not a second feed. */
export function staleKeys(event: CloudEvent): QueryKey[] {
  const [area = ""] = event.kind.split(".");
  const target = event.target_id;
  const stale: QueryKey[] = [];
  switch (area) {
    case "organization":
    case "datacenter":
    case "cluster":
    case "node":
    case "deployment": {
      stale.push(keys.tree);
      const page = PAGE_KEYS[area];
      if (target && page) stale.push(page(target));
      // A datacenter's page lists its clusters with their health, and an organization's page
      // what it holds: a change below them makes those stale too.
      if (area === "cluster" || area === "node") stale.push(keys.datacenters, keys.clusters);
      // A node's key changes its own licence and its cluster's licensing status.
      if (event.kind === "node.license_updated") stale.push(keys.licenses);
      break;
    }
    case "license":
      // Trusting or dropping an issuer changes the status of every key it signed.
      stale.push(keys.licenses);
      break;
    case "instance": {
      stale.push(keys.instances);
      if (target) stale.push(keys.instance(target));
      // Every instance event names its node (services/events.py instance_data).
      const node = stringField(event.data, "node_id");
      if (node) stale.push(keys.node(node));
      // Deploying creates volumes; attaching, detaching, destroying and deleting move them
      // between instances and the free list an Attach Device dialog offers.
      if (
        event.kind.startsWith("instance.device_") ||
        ["instance.deployed", "instance.destroyed", "instance.deleted"].includes(event.kind)
      ) {
        // ... and NICs join or leave port groups (whose rows list their interfaces).
        stale.push(keys.volumes, keys.network);
      }
      break;
    }
    case "task":
      // Under `tasks` too: every node's task list, as a task event doesn't name its node.
      stale.push(keys.tasks);
      if (target) stale.push(keys.task(target));
      break;
    case "image":
      // An image takes (or frees) space in its node's storage pool.
      stale.push(keys.images, keys.pools);
      break;
    case "pool":
      // A cluster's pools and each node's: a node's state in a pool changes both, and
      // pool.node_updated names the pool, not the node.
      stale.push(keys.pools);
      break;
    case "volume":
      // The node's volume lists (which the Attach Device choices and an instance's
      // Resources tab read sizes from too), and the pools' usage and volume counts.
      stale.push(keys.volumes, keys.pools);
      if (target) stale.push(keys.volume(target));
      break;
    case "nic":
    case "vswitch":
    case "port_group":
    case "network":
      // nic.updated (the agent's refresh), vswitch.*, port_group.*, network.synced (a
      // vSwitch's status on its node): an uplink moving changes the NICs and the vSwitches,
      // a port group's count is on its vSwitch, so the whole network prefix.
      stale.push(keys.network);
      break;
    default:
      break;
  }
  return stale;
}

/**
 * How long invalidations wait to be gathered. A deploy or a power action publishes a burst
 * of events (state changes, task progress, the outcome); invalidating on each would refetch
 * the same lists several times in a row. Gathered, each key is invalidated once per burst.
 */
const BATCH_MS = 150;

/** Gathers the keys events make stale and invalidates each once, BATCH_MS later. */
function batcher(client: QueryClient) {
  const pending = new Map<string, QueryKey>();
  let timer: number | undefined;
  const flush = () => {
    timer = undefined;
    const batch = [...pending.values()];
    pending.clear();
    // A refetch already under way is kept, not restarted: it was asked for after the
    // change it answers, or is followed by the one this burst starts when it ends.
    for (const queryKey of batch) {
      void client.invalidateQueries({ queryKey }, { cancelRefetch: false });
    }
  };
  return {
    add(stale: QueryKey[]) {
      for (const key of stale) pending.set(JSON.stringify(key), key);
      if (timer === undefined && pending.size > 0) timer = window.setTimeout(flush, BATCH_MS);
    },
    cancel() {
      window.clearTimeout(timer);
      timer = undefined;
      pending.clear();
    },
  };
}

/** Pause before opening the feed again after the server refused it. */
const REOPEN_MS = 5_000;

/**
 * Opens the feed while the user is signed in; closes it on sign-out.
 *
 * The browser reconnects a dropped stream by itself (sending Last-Event-ID), but gives up
 * for good when the server answers with an error: a session that ended (401), too many
 * streams (429), a node restarting. Then the session is asked for again, so a lost one
 * sends the user to sign-in (the client's 401 handler), and otherwise the feed is opened
 * anew after a pause, resuming after the last event seen.
 */
export function useEventFeed(enabled: boolean): void {
  const client = useQueryClient();
  const [opening, setOpening] = useState(0);
  const lastSeen = useRef<number | null>(null);
  const broken = useRef(false);
  useEffect(() => {
    if (!enabled) return undefined;
    const url =
      lastSeen.current === null ? "/api/v1/events" : `/api/v1/events?since=${lastSeen.current}`;
    const source = new EventSource(url, { withCredentials: true });
    const batch = batcher(client);
    let reopen: number | undefined;
    source.onopen = () => {
      // After the feed was down, whatever it missed may be past what the server replays
      // (or the node restarted): everything cached may be stale.
      if (!broken.current) return;
      broken.current = false;
      void client.invalidateQueries();
    };
    source.onerror = () => {
      if (source.readyState !== EventSource.CLOSED) return; // the browser is retrying
      broken.current = true;
      void client.refetchQueries({ queryKey: keys.me });
      reopen = window.setTimeout(() => setOpening((n) => n + 1), REOPEN_MS);
    };
    const handle = (message: MessageEvent<string>) => {
      let event: CloudEvent;
      try {
        event = JSON.parse(message.data) as CloudEvent;
      } catch {
        return;
      }
      lastSeen.current = event.id;
      batch.add(staleKeys(event));
      for (const listener of listeners) listener(event);
    };
    // Named SSE events (`event: instance.started`) don't reach onmessage; the server sends
    // each kind by name, so listen to every kind the app knows, plus unnamed messages.
    source.onmessage = handle;
    for (const kind of EVENT_KINDS) source.addEventListener(kind, handle as EventListener);
    return () => {
      source.close();
      batch.cancel();
      window.clearTimeout(reopen);
    };
  }, [client, enabled, opening]);
}

/**
 * Every event kind the server emits, as `services/events.py` EventKind names them (a unit
 * test there keeps the two lists equal). SSE delivers a named event only to listeners of
 * that name, so the feed must know them all.
 */
export const EVENT_KINDS = [
  "deployment.initialized",
  "organization.created",
  "organization.updated",
  "organization.deleted",
  "datacenter.created",
  "datacenter.updated",
  "datacenter.deleted",
  "cluster.updated",
  "node.updated",
  "node.connected",
  "node.facts_refreshed",
  "task.created",
  "task.updated",
  "task.cancelled",
  "pool.created",
  "pool.updated",
  "pool.node_updated",
  "pool.deleted",
  "pool.synced",
  "volume.created",
  "volume.updated",
  "volume.resized",
  "volume.deleted",
  "nic.updated",
  "vswitch.created",
  "vswitch.updated",
  "vswitch.deleted",
  "port_group.created",
  "port_group.updated",
  "port_group.deleted",
  "network.synced",
  "image.created",
  "image.updated",
  "image.imported",
  "image.deleted",
  "instance.created",
  "instance.updated",
  "instance.state_changed",
  "instance.deployed",
  "instance.started",
  "instance.stopped",
  "instance.restarted",
  "instance.killed",
  "instance.destroyed",
  "instance.deleted",
  "instance.console_opened",
  "instance.device_attached",
  "instance.device_detached",
  "instance.device_updated",
  "instance.device_deleted",
  "instance.snapshot_created",
  "instance.snapshot_reverted",
  "instance.snapshot_deleted",
  "instance.snapshot_updated",
  "node.license_updated",
  "license.issuers_updated",
] as const;
