/**
 * An instance's Console tab: a VM's screen (noVNC) or its serial console (xterm.js), a
 * switch between the two, the connection's state in words, Reconnect, and Ctrl+Alt+Del for
 * the screen. A container has no screen: its tab is its console terminal alone (the same
 * text-console WebSocket as a VM's serial port), and since a container's console takes one
 * viewer at a time, the server's reason for refusing a second is shown with Reconnect.
 *
 * Every connection — the first, a switch, a Reconnect — asks the API for a new single-use
 * ticket. noVNC and xterm.js are loaded only when a console is opened, so the rest of the UI
 * never waits for them.
 */
import {
  Button,
  EmptyState,
  EmptyStateBody,
  Spinner,
  ToggleGroup,
  ToggleGroupItem,
  Toolbar,
  ToolbarContent,
  ToolbarGroup,
  ToolbarItem,
} from "@patternfly/react-core";
import { lazy, useRef, useState } from "react";

import type { Instance } from "../../api/queries";
import { isVm, stateTitle } from "../instances/states";
import {
  ConsoleBody,
  DisconnectedAlert,
  PhaseLabel,
  ReconnectItem,
  useConsoleConnection,
} from "./ConsoleFrame";
import type { ConsoleKind } from "./connection";
import type { VncControls } from "./VncScreen";

const VncScreen = lazy(() => import("./VncScreen").then((m) => ({ default: m.VncScreen })));
const SerialTerminal = lazy(() =>
  import("./SerialTerminal").then((m) => ({ default: m.SerialTerminal })),
);

/** States in which an open console stays open: a stop or restart is worth watching. */
const LIVE_STATES = new Set(["running", "stopping", "restarting"]);
/** States that end in "running" by themselves; the console opens when they do. */
const COMING_STATES = new Set(["creating", "starting"]);

export function InstanceConsole({ instance }: { instance: Instance }) {
  if (LIVE_STATES.has(instance.state)) return <LiveConsole instance={instance} />;
  if (COMING_STATES.has(instance.state)) {
    return (
      <EmptyState titleText="Waiting for the instance" headingLevel="h2" icon={Spinner}>
        <EmptyStateBody>
          {instance.name} is {stateTitle(instance.state).toLowerCase()}; its console opens once it is running.
        </EmptyStateBody>
      </EmptyState>
    );
  }
  return (
    <EmptyState titleText="The console needs the instance running" headingLevel="h2">
      <EmptyStateBody>
        {instance.name} is {stateTitle(instance.state).toLowerCase()}. Start it (Power → Start) to{" "}
        {isVm(instance) ? "see its screen and serial console" : "open its console"}.
      </EmptyStateBody>
    </EmptyState>
  );
}

function LiveConsole({ instance }: { instance: Instance }) {
  const hasScreen = isVm(instance);
  const [kind, setKind] = useState<ConsoleKind>(hasScreen ? "vnc" : "serial");
  const { key, phase, onPhase, reconnect } = useConsoleConnection(kind);
  const vnc = useRef<VncControls | null>(null);

  // When a restart (or a stop, then a start) dropped the console, open it again once the
  // instance is back: adjusted while rendering, on the change of state itself.
  const [lastState, setLastState] = useState(instance.state);
  if (instance.state !== lastState) {
    setLastState(instance.state);
    if (instance.state === "running" && phase.state === "disconnected") reconnect();
  }

  const choose = (next: ConsoleKind) => {
    if (next !== kind) setKind(next);
  };

  return (
    <>
      <Toolbar>
        <ToolbarContent>
          {hasScreen && (
            <ToolbarItem>
              <ToggleGroup aria-label="Console">
                <ToggleGroupItem
                  text="Screen"
                  isSelected={kind === "vnc"}
                  onChange={() => choose("vnc")}
                />
                <ToggleGroupItem
                  text="Serial"
                  isSelected={kind === "serial"}
                  onChange={() => choose("serial")}
                />
              </ToggleGroup>
            </ToolbarItem>
          )}
          <ToolbarItem alignSelf="center">
            <PhaseLabel phase={phase} />
          </ToolbarItem>
          <ToolbarGroup align={{ default: "alignEnd" }}>
            {kind === "vnc" && (
              <ToolbarItem>
                <Button
                  variant="secondary"
                  isDisabled={phase.state !== "connected"}
                  onClick={() => vnc.current?.sendCtrlAltDel()}
                >
                  Send Ctrl+Alt+Del
                </Button>
              </ToolbarItem>
            )}
            <ReconnectItem phase={phase} onClick={reconnect} />
          </ToolbarGroup>
        </ToolbarContent>
      </Toolbar>
      <DisconnectedAlert phase={phase} />
      <ConsoleBody>
        {kind === "vnc" ? (
          <VncScreen key={key} instanceId={instance.id} onPhase={onPhase} controls={vnc} />
        ) : (
          <SerialTerminal
            key={key}
            instanceId={instance.id}
            onPhase={onPhase}
            label={hasScreen ? "Serial console" : "Container console"}
          />
        )}
      </ConsoleBody>
    </>
  );
}
