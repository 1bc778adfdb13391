/**
 * The instance's first serial port in xterm.js (the terminal itself is XtermConsole, shared
 * with the node's shell).
 */
import { useCallback } from "react";

import { consoleUrl, type ConsolePhase } from "./connection";
import { XtermConsole } from "./XtermConsole";

interface Props {
  instanceId: string;
  /** Called with the connection's progress; a new mount is a new connection. */
  onPhase: (phase: ConsolePhase) => void;
}

export function SerialTerminal({ instanceId, onPhase }: Props) {
  const connect = useCallback(() => consoleUrl(instanceId, "serial"), [instanceId]);
  return <XtermConsole connect={connect} onPhase={onPhase} label="Serial console" />;
}
