/**
 * Delete a vSwitch: type DESTROY and Confirm. The server refuses while port groups or
 * instance interfaces use it (the row's X says so first); otherwise the node's agent
 * removes its bridge, and its uplinks are unused again.
 */
import { Content } from "@patternfly/react-core";

import { deleteVSwitch, type VSwitch } from "../../api/network";
import { keys } from "../../api/queries";
import { DestroyDialog } from "../common/dialogs";

export function DestroyVSwitchDialog({ vswitch, onClose }: { vswitch: VSwitch; onClose: () => void }) {
  return (
    <DestroyDialog
      title={`Delete vSwitch ${vswitch.name}?`}
      run={(confirm) => deleteVSwitch(vswitch.id, confirm)}
      invalidate={[keys.network]}
      onClose={onClose}
    >
      <Content component="p">
        The vSwitch {vswitch.name} is removed from this node
        {vswitch.config.uplinks.length > 0
          ? `, and its uplinks (${vswitch.config.uplinks.join(", ")}) are released`
          : ""}
        .
      </Content>
    </DestroyDialog>
  );
}
