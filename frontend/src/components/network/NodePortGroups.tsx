/**
 * A node's port groups (seed: "Creating and Managing Port Groups", the Ports tab): Create
 * Port Group, and per row the Edit icon and the X to delete, disabled with its reason while
 * instance interfaces are on the group. Interfaces lists them (name and MAC).
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

import { type PortGroup, PORT_GROUP_TYPE_TITLES, vlansOf } from "../../api/network";
import { useNodePortGroups } from "../../api/queries";
import { useDialogs } from "../common/DialogHost";
import { useAllowed } from "../common/permissions";
import { QueryState } from "../common/ResourcePage";
import { EditDeleteCell } from "../common/IconAction";
import { DestroyPortGroupDialog } from "./DestroyPortGroupDialog";
import { PortGroupDialog } from "./PortGroupDialog";

function deleteRefusal(group: PortGroup): string | undefined {
  const n = group.config.interfaces.length;
  if (n === 0) return undefined;
  return `${n} instance interface${n === 1 ? " is" : "s are"} on it; remove ${n === 1 ? "it" : "them"} first.`;
}

export function NodePortGroups({ nodeId }: { nodeId: string }) {
  const dialogs = useDialogs();
  const allowed = useAllowed();
  const groups = useNodePortGroups(nodeId);
  const create = () => dialogs.open((close) => <PortGroupDialog nodeId={nodeId} onClose={close} />);
  const edit = (group: PortGroup) =>
    dialogs.open((close) => <PortGroupDialog nodeId={nodeId} group={group} onClose={close} />);
  const destroy = (group: PortGroup) =>
    dialogs.open((close) => (
      <DestroyPortGroupDialog group={group} vswitchName={group.vswitch_name} onClose={close} />
    ));
  const canEdit = allowed("port_group.update");
  const canDelete = allowed("port_group.delete");

  return (
    <>
      {allowed("port_group.create") && (
        <Toolbar>
          <ToolbarContent>
            <ToolbarItem align={{ default: "alignEnd" }}>
              <Button variant="primary" onClick={create}>
                Create Port Group
              </Button>
            </ToolbarItem>
          </ToolbarContent>
        </Toolbar>
      )}
      {!groups.data ? (
        <QueryState error={groups.error} isPending={groups.isPending} />
      ) : groups.data.length === 0 ? (
        <EmptyState titleText="No port groups" headingLevel="h4">
          <EmptyStateBody>
            No vSwitch of this node has a port group. Instances join a vSwitch through one.
          </EmptyStateBody>
        </EmptyState>
      ) : (
        <Table aria-label="Port Groups" variant="compact">
          <Thead>
            <Tr>
              <Th>Name</Th>
              <Th>vSwitch</Th>
              <Th>Type</Th>
              <Th modifier="nowrap">VLAN(s)</Th>
              <Th>Description</Th>
              <Th>Interfaces</Th>
              <Th screenReaderText="Actions" />
            </Tr>
          </Thead>
          <Tbody>
            {groups.data.map((group) => (
              <Tr key={`${group.vswitch_id}/${group.name}`}>
                <Td dataLabel="Name">{group.name}</Td>
                <Td dataLabel="vSwitch">{group.vswitch_name}</Td>
                <Td dataLabel="Type">
                  {PORT_GROUP_TYPE_TITLES[group.config.type] ?? `Type ${group.config.type}`}
                </Td>
                <Td dataLabel="VLAN(s)">{vlansOf(group)}</Td>
                <Td dataLabel="Description">{group.description || "—"}</Td>
                <Td dataLabel="Interfaces">
                  {group.config.interfaces.length === 0
                    ? "—"
                    : group.config.interfaces.map((i) => `${i.name} (${i.mac_address})`).join(", ")}
                </Td>
                <EditDeleteCell
                  name={group.name}
                  canEdit={canEdit}
                  canDelete={canDelete}
                  deleteRefusal={deleteRefusal(group)}
                  onEdit={() => edit(group)}
                  onDelete={() => destroy(group)}
                />
              </Tr>
            ))}
          </Tbody>
        </Table>
      )}
    </>
  );
}
