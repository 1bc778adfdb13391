/**
 * Delete a vSwitch: type DESTROY and Confirm. The server refuses while port groups or
 * instance interfaces use it (the row's X says so first); otherwise the node's agent
 * removes its bridge, and its uplinks are unused again.
 */
import { Content } from "@patternfly/react-core";
import { useMutation, useQueryClient } from "@tanstack/react-query";

import { deleteVSwitch, type VSwitch } from "../../api/network";
import { keys } from "../../api/queries";
import { TypeToConfirmDialog } from "../common/dialogs";
import { DESTROY_WORD } from "../instances/DestroyInstanceDialog";

export function DestroyVSwitchDialog({ vswitch, onClose }: { vswitch: VSwitch; onClose: () => void }) {
  const client = useQueryClient();
  const destroy = useMutation({
    mutationFn: () => deleteVSwitch(vswitch.id, DESTROY_WORD),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: keys.network });
      onClose();
    },
  });
  return (
    <TypeToConfirmDialog
      title={`Delete vSwitch ${vswitch.name}?`}
      word={DESTROY_WORD}
      isPending={destroy.isPending}
      error={destroy.error}
      onConfirm={() => destroy.mutate()}
      onClose={onClose}
    >
      <Content component="p">
        The vSwitch {vswitch.name} is removed from this node
        {vswitch.config.uplinks.length > 0
          ? `, and its uplinks (${vswitch.config.uplinks.join(", ")}) are released`
          : ""}
        .
      </Content>
    </TypeToConfirmDialog>
  );
}
