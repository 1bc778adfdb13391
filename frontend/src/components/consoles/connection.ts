/**
 * What both consoles share: a fresh ticket per connection, the WebSocket URL it names, and
 * the words for why a connection ended.
 *
 * A ticket is single-use and lives 30 s, so it is asked for right before each connection
 * (a reconnect asks again) and never cached in TanStack Query.
 */
import { api, unwrap } from "../../api/client";

export type ConsoleKind = "vnc" | "serial";

/** Where a console connection stands; `reason` is the server's words when it has some. */
export type ConsolePhase =
  | { state: "connecting" }
  | { state: "connected" }
  | { state: "disconnected"; reason: string };

/** The subprotocol the console WebSockets answer to (what noVNC has always offered). */
const SUBPROTOCOL = "binary";

/** A ticket for `kind`, as the WebSocket URL (same origin as the page) that spends it. */
export async function consoleUrl(instanceId: string, kind: ConsoleKind): Promise<string> {
  const session = unwrap(
    await api.POST("/api/v1/instances/{instance_id}/console", {
      params: { path: { instance_id: instanceId } },
      body: { kind },
    }),
  );
  const url = new URL(session.websocket, window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.href;
}

/** A WebSocket to a console URL; its frames are bytes, read as ArrayBuffers. */
export function openConsoleSocket(url: string): WebSocket {
  const socket = new WebSocket(url, [SUBPROTOCOL]);
  socket.binaryType = "arraybuffer";
  return socket;
}

/**
 * Why a console connection closed. The server closes a refusal with 4000 + the HTTP status
 * and its message as the reason (4401 a spent or expired ticket, 4409 an instance that is
 * not running or on another node, 4502 a hypervisor error), and an ended guest with 1000
 * and a sentence; a connection that simply broke carries no reason at all.
 */
export function closeReason(event: CloseEvent): string {
  if (event.reason) return event.reason;
  if (event.code === 1000) return "The console connection was closed.";
  if (event.code >= 4000 && event.code < 5000) {
    return `The node refused the console (HTTP ${event.code - 4000}).`;
  }
  return "The connection to the node was lost.";
}
