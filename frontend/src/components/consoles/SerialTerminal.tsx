/**
 * The instance's first serial port in xterm.js: guest bytes in, keystrokes out, both as
 * binary WebSocket frames (a serial line carries bytes, not necessarily UTF-8 text).
 *
 * Each connection gets a fresh terminal: the server replays the guest's recent output first,
 * so reusing the old screen would show that output twice.
 */
import "@xterm/xterm/css/xterm.css";

import { FitAddon } from "@xterm/addon-fit";
import { Terminal } from "@xterm/xterm";
import { useEffect, useRef } from "react";

import { messageOf } from "../../api/errors";
import { closeReason, consoleUrl, openConsoleSocket, type ConsolePhase } from "./connection";

interface Props {
  instanceId: string;
  /** Called with the connection's progress; a new mount is a new connection. */
  onPhase: (phase: ConsolePhase) => void;
}

const encoder = new TextEncoder();

export function SerialTerminal({ instanceId, onPhase }: Props) {
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const element = box.current;
    if (!element) return;
    let live = true;
    let socket: WebSocket | null = null;
    const report = (phase: ConsolePhase) => {
      if (live) onPhase(phase);
    };

    const terminal = new Terminal({ cursorBlink: true, scrollback: 10000 });
    const fit = new FitAddon();
    terminal.loadAddon(fit);
    terminal.open(element);
    fit.fit();
    // The serial line has no size of its own to tell the guest; fitting only re-flows ours.
    const resize = new ResizeObserver(() => fit.fit());
    resize.observe(element);

    const send = (bytes: Uint8Array) => {
      if (socket?.readyState === WebSocket.OPEN) socket.send(bytes);
    };
    const typed = terminal.onData((text) => send(encoder.encode(text)));
    // Mouse reports some programs ask for arrive as one char per byte, not as text.
    const binary = terminal.onBinary((raw) =>
      send(Uint8Array.from(raw, (char) => char.charCodeAt(0) & 0xff)),
    );

    consoleUrl(instanceId, "serial").then(
      (url) => {
        if (!live) return;
        socket = openConsoleSocket(url);
        socket.addEventListener("open", () => {
          report({ state: "connected" });
          terminal.focus();
        });
        socket.addEventListener("message", (event: MessageEvent<ArrayBuffer | string>) => {
          terminal.write(typeof event.data === "string" ? event.data : new Uint8Array(event.data));
        });
        socket.addEventListener("close", (event) =>
          report({ state: "disconnected", reason: closeReason(event) }),
        );
      },
      (error: unknown) => report({ state: "disconnected", reason: messageOf(error) }),
    );

    return () => {
      live = false;
      socket?.close();
      resize.disconnect();
      typed.dispose();
      binary.dispose();
      terminal.dispose();
    };
  }, [instanceId, onPhase]);

  return <div ref={box} className="ce-console-serial" role="region" aria-label="Serial console" />;
}
