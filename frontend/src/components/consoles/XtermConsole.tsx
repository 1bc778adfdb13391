/**
 * A terminal in xterm.js over a console WebSocket: what the instance's serial console and
 * the node's shell share. Output in, keystrokes out, both as binary frames (a serial line or
 * a PTY carries bytes, not necessarily UTF-8 text), and the terminal's size as a text frame
 * `{"resize": {"cols", "rows"}}` whenever fitting changes it (a shell's PTY takes it; a
 * serial line has no size, and the server drops it there).
 *
 * Each connection gets a fresh terminal: the serial console replays the guest's recent
 * output first, so reusing the old screen would show that output twice.
 */
import "@xterm/xterm/css/xterm.css";

import { FitAddon } from "@xterm/addon-fit";
import { Terminal } from "@xterm/xterm";
import { useEffect, useRef } from "react";

import { messageOf } from "../../api/errors";
import { closeReason, openConsoleSocket, type ConsolePhase } from "./connection";

interface Props {
  /** A fresh ticket's WebSocket URL; asked for once per mount (each mount is a connection). */
  connect: () => Promise<string>;
  /** Called with the connection's progress. */
  onPhase: (phase: ConsolePhase) => void;
  /** The terminal region's accessible name, e.g. "Serial console". */
  label: string;
}

const encoder = new TextEncoder();

export function XtermConsole({ connect, onPhase, label }: Props) {
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
    const resize = new ResizeObserver(() => fit.fit());
    resize.observe(element);

    const send = (data: Uint8Array | string) => {
      if (socket?.readyState === WebSocket.OPEN) socket.send(data);
    };
    const sendSize = () =>
      send(JSON.stringify({ resize: { cols: terminal.cols, rows: terminal.rows } }));
    const resized = terminal.onResize(sendSize);
    const typed = terminal.onData((text) => send(encoder.encode(text)));
    // Mouse reports some programs ask for arrive as one char per byte, not as text.
    const binary = terminal.onBinary((raw) =>
      send(Uint8Array.from(raw, (char) => char.charCodeAt(0) & 0xff)),
    );

    connect().then(
      (url) => {
        if (!live) return;
        socket = openConsoleSocket(url);
        socket.addEventListener("open", () => {
          report({ state: "connected" });
          sendSize(); // fitted before the socket opened: the far end starts at 80x24
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
      resized.dispose();
      typed.dispose();
      binary.dispose();
      terminal.dispose();
    };
  }, [connect, onPhase]);

  return <div ref={box} className="ce-console-terminal" role="region" aria-label={label} />;
}
