/**
 * The node's Console tab: a shell on the node as the signed-in user's Linux user, in xterm.js
 * (the seed: "Access the node's console … through the Console tab in the node view").
 *
 * The page shows this tab only to users whose policies allow node.console on the node. A
 * user without a usable Linux user sees why instead of a terminal; any refusal of the ticket
 * itself (403) or of the shell on the node ends the connection with the server's words.
 */
import {
  Alert,
  Content,
  Toolbar,
  ToolbarContent,
  ToolbarGroup,
  ToolbarItem,
} from "@patternfly/react-core";
import { lazy, useCallback } from "react";

import type { Node } from "../../api/queries";
import { shellUrl } from "../consoles/connection";
import {
  ConsoleBody,
  DisconnectedAlert,
  PhaseLabel,
  ReconnectItem,
  useConsoleConnection,
} from "../consoles/ConsoleFrame";

const XtermConsole = lazy(() =>
  import("../consoles/XtermConsole").then((m) => ({ default: m.XtermConsole })),
);

interface Props {
  node: Node;
  /** The Linux user the shell runs as; null with `refusal` when there is none to use. */
  linuxUser: string | null;
  refusal: string;
}

export function NodeConsole({ node, linuxUser, refusal }: Props) {
  if (!linuxUser) {
    return (
      <Alert variant="danger" isInline title="No shell can be opened on this node">
        {refusal}
      </Alert>
    );
  }
  return <LiveShell node={node} linuxUser={linuxUser} />;
}

function LiveShell({ node, linuxUser }: { node: Node; linuxUser: string }) {
  const { key, phase, onPhase, reconnect } = useConsoleConnection("shell");
  const connect = useCallback(() => shellUrl(node.id), [node.id]);
  return (
    <>
      <Toolbar>
        <ToolbarContent>
          <ToolbarItem alignSelf="center">
            <Content component="p">
              Shell on {node.name} as <strong>{linuxUser}</strong>
            </Content>
          </ToolbarItem>
          <ToolbarItem alignSelf="center">
            <PhaseLabel phase={phase} />
          </ToolbarItem>
          <ToolbarGroup align={{ default: "alignEnd" }}>
            <ReconnectItem phase={phase} onClick={reconnect} />
          </ToolbarGroup>
        </ToolbarContent>
      </Toolbar>
      <DisconnectedAlert phase={phase} />
      <ConsoleBody>
        <XtermConsole key={key} connect={connect} onPhase={onPhase} label="Node console" />
      </ConsoleBody>
    </>
  );
}
