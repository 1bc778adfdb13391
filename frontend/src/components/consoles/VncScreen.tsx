/**
 * The VM's screen: noVNC over the node's VNC WebSocket, scaled to fit its box.
 *
 * The WebSocket is opened here and handed to noVNC, not opened by noVNC from a URL: noVNC's
 * own events say only whether a disconnect was clean, while the socket's close event carries
 * the server's code and reason, which is what the user needs to read.
 */
import RFB from "@novnc/novnc";
import { initLogging } from "@novnc/novnc/logging";
import { useEffect, useRef, type RefObject } from "react";

import { messageOf } from "../../api/errors";
import { closeReason, consoleUrl, openConsoleSocket, type ConsolePhase } from "./connection";

// The page shows why a connection ended; noVNC would also print it as a console error.
initLogging("none");

export interface VncControls {
  sendCtrlAltDel(): void;
}

interface Props {
  instanceId: string;
  /** Called with the connection's progress; a new mount is a new connection. */
  onPhase: (phase: ConsolePhase) => void;
  controls: RefObject<VncControls | null>;
}

export function VncScreen({ instanceId, onPhase, controls }: Props) {
  const screen = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const target = screen.current;
    if (!target) return;
    let live = true;
    let rfb: RFB | null = null;
    let socket: WebSocket | null = null;
    const report = (phase: ConsolePhase) => {
      if (live) onPhase(phase);
    };

    consoleUrl(instanceId, "vnc").then(
      (url) => {
        if (!live) return;
        socket = openConsoleSocket(url);
        socket.addEventListener("close", (event) =>
          report({ state: "disconnected", reason: closeReason(event) }),
        );
        const session = new RFB(target, socket, { shared: true });
        session.scaleViewport = true;
        session.background = "#000";
        session.addEventListener("connect", () => {
          report({ state: "connected" });
          session.focus({ preventScroll: true });
        });
        session.addEventListener("securityfailure", (event) => {
          const detail = (event as CustomEvent<{ reason?: string }>).detail;
          report({
            state: "disconnected",
            reason: detail.reason || "The display refused the connection.",
          });
        });
        rfb = session;
        controls.current = { sendCtrlAltDel: () => session.sendCtrlAltDel() };
      },
      (error: unknown) => report({ state: "disconnected", reason: messageOf(error) }),
    );

    return () => {
      live = false;
      controls.current = null;
      if (rfb) rfb.disconnect();
      else socket?.close();
    };
  }, [instanceId, onPhase, controls]);

  return <div ref={screen} className="ce-console-screen" role="region" aria-label="VM screen" />;
}
