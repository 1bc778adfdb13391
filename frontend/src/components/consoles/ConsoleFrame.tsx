/**
 * What every console tab shows around its screen or terminal, whatever it connects to (an
 * instance's screen or serial port, a node's shell): the connection's state in words, a
 * Reconnect button, the reason a connection ended, and the console's lazily loaded code
 * behind an error boundary and a spinner.
 */
import { Alert, Bullseye, Button, Label, Spinner, ToolbarItem } from "@patternfly/react-core";
import { Suspense, useCallback, useState, type ReactNode } from "react";

import { ErrorBoundary } from "../common/ErrorBoundary";
import type { ConsolePhase } from "./connection";

/**
 * One console's connections: `key` names the current one (mount the console with it, so a
 * Reconnect or a switch of `kind` is a new connection), `phase` is what it last reported.
 */
export function useConsoleConnection(kind: string) {
  const [attempt, setAttempt] = useState(0);
  // A phase reported by the connection `key`; a newer connection starts out "connecting".
  const key = `${kind}-${attempt}`;
  const [reported, setReported] = useState<{ key: string; phase: ConsolePhase } | null>(null);
  const phase: ConsolePhase = reported?.key === key ? reported.phase : { state: "connecting" };
  const onPhase = useCallback((next: ConsolePhase) => setReported({ key, phase: next }), [key]);
  const reconnect = useCallback(() => setAttempt((n) => n + 1), []);
  return { key, phase, onPhase, reconnect };
}

export function PhaseLabel({ phase }: { phase: ConsolePhase }) {
  switch (phase.state) {
    case "connecting":
      return (
        <Label color="blue" icon={<Spinner size="sm" aria-hidden />}>
          Connecting
        </Label>
      );
    case "connected":
      return <Label color="green">Connected</Label>;
    case "disconnected":
      return <Label color="grey">Disconnected</Label>;
  }
}

/** The toolbar's Reconnect, primary once the connection is gone. */
export function ReconnectItem({ phase, onClick }: { phase: ConsolePhase; onClick: () => void }) {
  return (
    <ToolbarItem>
      <Button variant={phase.state === "disconnected" ? "primary" : "secondary"} onClick={onClick}>
        Reconnect
      </Button>
    </ToolbarItem>
  );
}

/** Why the connection ended, in the server's words, above the console. */
export function DisconnectedAlert({ phase }: { phase: ConsolePhase }) {
  if (phase.state !== "disconnected") return null;
  return (
    <Alert variant="warning" isInline title="The console is disconnected" className="ce-console-alert">
      {phase.reason} Press Reconnect to try again.
    </Alert>
  );
}

/** The console's code is loaded on demand; after an upgrade the old chunk is gone. */
export function ConsoleBody({ children }: { children: ReactNode }) {
  return (
    <ErrorBoundary what="The console">
      <Suspense
        fallback={
          <Bullseye className="ce-console-box">
            <Spinner aria-label="Loading the console" />
          </Bullseye>
        }
      >
        {children}
      </Suspense>
    </ErrorBoundary>
  );
}
