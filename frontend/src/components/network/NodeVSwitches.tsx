/**
 * A node's vSwitches (seed: "Creating a vSwitch"): Create vSwitch, and per row the Edit
 * icon (description, MTU, the Uplinks drop-down) and the X to delete, which is disabled
 * with its reason while port groups use the vSwitch. The Uplink Count column follows
 * an edit as soon as the server has it; the status, as the node's agent applies it.
 */
import {
  Button,
  EmptyState,
  EmptyStateBody,
  Toolbar,
  ToolbarContent,
  ToolbarItem,
} from "@patternfly/react-core";
import { Table, Tbody, Td, Th, Thead, Tr } from "@patternfly/react-table";

import type { VSwitch } from "../../api/network";
import { useNodeVSwitches } from "../../api/queries";
import { useDialogs } from "../common/DialogHost";
import { useAllowed } from "../common/permissions";
import { QueryState } from "../common/ResourcePage";
import { EditDeleteCell } from "../common/IconAction";
import { DestroyVSwitchDialog } from "./DestroyVSwitchDialog";
import { SwitchStatus } from "./SwitchStatus";
import { VSwitchDialog } from "./VSwitchDialog";

function deleteRefusal(vswitch: VSwitch): string | undefined {
  if (vswitch.port_group_count > 0) {
    const n = vswitch.port_group_count;
    return `${n} port group${n === 1 ? "" : "s"} use${n === 1 ? "s" : ""} it; delete ${n === 1 ? "it" : "them"} first (the Ports tab).`;
  }
  return undefined;
}

export function NodeVSwitches({ nodeId }: { nodeId: string }) {
  const dialogs = useDialogs();
  const allowed = useAllowed();
  const vswitches = useNodeVSwitches(nodeId);
  const create = () => dialogs.open((close) => <VSwitchDialog nodeId={nodeId} onClose={close} />);
  const edit = (vswitch: VSwitch) =>
    dialogs.open((close) => <VSwitchDialog nodeId={nodeId} vswitch={vswitch} onClose={close} />);
  const destroy = (vswitch: VSwitch) =>
    dialogs.open((close) => <DestroyVSwitchDialog vswitch={vswitch} onClose={close} />);
  const canEdit = allowed("vswitch.update");
  const canDelete = allowed("vswitch.delete");

  return (
    <>
      {allowed("vswitch.create") && (
        <Toolbar>
          <ToolbarContent>
            <ToolbarItem align={{ default: "alignEnd" }}>
              <Button variant="primary" onClick={create}>
                Create vSwitch
              </Button>
            </ToolbarItem>
          </ToolbarContent>
        </Toolbar>
      )}
      {!vswitches.data ? (
        <QueryState error={vswitches.error} isPending={vswitches.isPending} />
      ) : vswitches.data.length === 0 ? (
        <EmptyState titleText="No vSwitches" headingLevel="h4">
          <EmptyStateBody>
            This node has no vSwitch. Create one to connect instances to each other and, through
            its uplinks, to the physical network.
          </EmptyStateBody>
        </EmptyState>
      ) : (
        <Table aria-label="vSwitches" variant="compact">
          <Thead>
            <Tr>
              <Th>Name</Th>
              <Th>Description</Th>
              <Th modifier="nowrap">Uplink Count</Th>
              <Th>Uplinks</Th>
              <Th modifier="nowrap">Port Groups</Th>
              <Th>MTU</Th>
              <Th>Status</Th>
              <Th screenReaderText="Actions" />
            </Tr>
          </Thead>
          <Tbody>
            {vswitches.data.map((vswitch) => (
              <Tr key={vswitch.id}>
                <Td dataLabel="Name">{vswitch.name}</Td>
                <Td dataLabel="Description">{vswitch.description || "—"}</Td>
                <Td dataLabel="Uplink Count">{vswitch.uplink_count}</Td>
                <Td dataLabel="Uplinks">
                  {vswitch.config.uplinks.length > 0 ? vswitch.config.uplinks.join(", ") : "—"}
                </Td>
                <Td dataLabel="Port Groups">{vswitch.port_group_count}</Td>
                <Td dataLabel="MTU">{vswitch.mtu ?? "Uplinks' own"}</Td>
                <Td dataLabel="Status">
                  <SwitchStatus status={vswitch.status} message={vswitch.message} />
                </Td>
                <EditDeleteCell
                  name={vswitch.name}
                  canEdit={canEdit}
                  canDelete={canDelete}
                  deleteRefusal={deleteRefusal(vswitch)}
                  onEdit={() => edit(vswitch)}
                  onDelete={() => destroy(vswitch)}
                />
              </Tr>
            ))}
          </Tbody>
        </Table>
      )}
    </>
  );
}
