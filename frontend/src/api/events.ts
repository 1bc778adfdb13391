/**
 * The live feed: one EventSource on `/api/v1/events` for the whole app. Each event marks
 * stale the queries it changes, and TanStack Query refetches those that are on screen, so
 * the tree and pages follow the cloud without reloads or timers. The browser reconnects by
 * itself with `Last-Event-ID`, and the server replays what was missed.
 */
import { type QueryClient, useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";

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

/** What an event makes stale. Areas added later extend this switch, not a second feed. */
export function invalidate(client: QueryClient, event: CloudEvent): void {
  const [area] = event.kind.split(".");
  const target = event.target_id;
  switch (area) {
    case "organization":
    case "datacenter":
    case "cluster":
    case "node":
    case "deployment":
      void client.invalidateQueries({ queryKey: keys.tree });
      if (target) void client.invalidateQueries({ queryKey: [area, target] });
      // A datacenter's page lists its clusters with their health, and an organization's page
      // what it holds: a change below them makes those stale too.
      if (area === "cluster" || area === "node") {
        void client.invalidateQueries({ queryKey: ["datacenter"] });
        void client.invalidateQueries({ queryKey: ["cluster"] });
      }
      break;
    case "instance": {
      void client.invalidateQueries({ queryKey: keys.instances });
      if (target) void client.invalidateQueries({ queryKey: keys.instance(target) });
      const node = stringField(event.data, "node_id");
      if (node) void client.invalidateQueries({ queryKey: keys.node(node) });
      // Attaching, detaching and destroying move volumes between instances and the free
      // list an Attach Device dialog offers.
      if (event.kind.startsWith("instance.device_") || event.kind === "instance.destroyed") {
        void client.invalidateQueries({ queryKey: keys.volumes });
      }
      break;
    }
    case "task":
      void client.invalidateQueries({ queryKey: keys.tasks });
      if (target) void client.invalidateQueries({ queryKey: keys.task(target) });
      // A task event doesn't say its node: refresh the node task lists (only those on screen refetch).
      void client.invalidateQueries({
        predicate: (query) => query.queryKey[0] === "node" && query.queryKey[2] === "tasks",
      });
      break;
    case "image":
      void client.invalidateQueries({ queryKey: ["images"] });
      break;
    default:
      break;
  }
}

/** Opens the feed while the user is signed in; closes it on sign-out. */
export function useEventFeed(enabled: boolean): void {
  const client = useQueryClient();
  useEffect(() => {
    if (!enabled) return undefined;
    const source = new EventSource("/api/v1/events", { withCredentials: true });
    const handle = (message: MessageEvent<string>) => {
      let event: CloudEvent;
      try {
        event = JSON.parse(message.data) as CloudEvent;
      } catch {
        return;
      }
      invalidate(client, event);
      for (const listener of listeners) listener(event);
    };
    // Named SSE events (`event: instance.started`) don't reach onmessage; the server sends
    // each kind by name, so listen to every kind the app knows, plus unnamed messages.
    source.onmessage = handle;
    for (const kind of EVENT_KINDS) source.addEventListener(kind, handle as EventListener);
    return () => {
      source.close();
    };
  }, [client, enabled]);
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
] as const;
