/**
 * Delete a port group: type DESTROY and Confirm. The server refuses while instance
 * interfaces are on it (the row's X says so first).
 */
import { Content } from "@patternfly/react-core";

import { deletePortGroup, type PortGroup } from "../../api/network";
import { keys } from "../../api/queries";
import { DestroyDialog } from "../common/dialogs";

interface Props {
  group: PortGroup;
  vswitchName: string;
  onClose: () => void;
}

export function DestroyPortGroupDialog({ group, vswitchName, onClose }: Props) {
  return (
    <DestroyDialog
      title={`Delete port group ${group.name}?`}
      run={(confirm) => deletePortGroup(group.vswitch_id, group.name, confirm)}
      invalidate={[keys.network]}
      onClose={onClose}
    >
      <Content component="p">
        The port group {group.name} is removed from the vSwitch {vswitchName}.
      </Content>
    </DestroyDialog>
  );
}
