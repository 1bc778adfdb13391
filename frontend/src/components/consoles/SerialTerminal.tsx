/**
 * An instance's text console in xterm.js: a VM's first serial port, a container's console
 * (the terminal itself is XtermConsole, shared with the node's shell).
 */
import { useCallback } from "react";

import { consoleUrl, type ConsolePhase } from "./connection";
import { XtermConsole } from "./XtermConsole";

interface Props {
  instanceId: string;
  /** Called with the connection's progress; a new mount is a new connection. */
  onPhase: (phase: ConsolePhase) => void;
  /** The terminal region's accessible name. */
  label: string;
}

export function SerialTerminal({ instanceId, onPhase, label }: Props) {
  const connect = useCallback(() => consoleUrl(instanceId, "serial"), [instanceId]);
  return <XtermConsole connect={connect} onPhase={onPhase} label={label} />;
}
