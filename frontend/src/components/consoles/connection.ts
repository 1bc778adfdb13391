/**
 * What every console shares (an instance's screen and serial port, a node's shell): a fresh
 * ticket per connection, the WebSocket URL it names, and the words for why a connection ended.
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
  return websocketUrl(session.websocket);
}

/**
 * A ticket for a shell on the node as the signed-in user's Linux user, as its WebSocket URL.
 * A refusal (403: no node.console, no Linux user, root for a tenant) rejects with the
 * server's message, which the console shows.
 */
export async function shellUrl(nodeId: string): Promise<string> {
  const session = unwrap(
    await api.POST("/api/v1/nodes/{node_id}/console", {
      params: { path: { node_id: nodeId } },
      body: {},
    }),
  );
  return websocketUrl(session.websocket);
}

function websocketUrl(path: string): string {
  const url = new URL(path, window.location.href);
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
 * and its message as the reason (4401 a spent or expired ticket, 4403 a shell the user may no
 * longer open, 4409 an instance that is not running or on another node, or a Linux user the
 * node lacks, 4429 too many shells, 4502 a hypervisor error), and an ended guest or shell
 * with 1000 and a sentence; a connection that simply broke carries no reason at all.
 */
export function closeReason(event: CloseEvent): string {
  if (event.reason) return event.reason;
  if (event.code === 1000) return "The console connection was closed.";
  if (event.code >= 4000 && event.code < 5000) {
    return `The node refused the console (HTTP ${event.code - 4000}).`;
  }
  return "The connection to the node was lost.";
}
