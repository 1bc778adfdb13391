/**
 * Delete a port group: type DESTROY and Confirm. The server refuses while instance
 * interfaces are on it (the row's X says so first).
 */
import { Content } from "@patternfly/react-core";
import { useMutation, useQueryClient } from "@tanstack/react-query";

import { deletePortGroup, type PortGroup } from "../../api/network";
import { keys } from "../../api/queries";
import { TypeToConfirmDialog } from "../common/dialogs";
import { DESTROY_WORD } from "../instances/DestroyInstanceDialog";

interface Props {
  group: PortGroup;
  vswitchName: string;
  onClose: () => void;
}

export function DestroyPortGroupDialog({ group, vswitchName, onClose }: Props) {
  const client = useQueryClient();
  const destroy = useMutation({
    mutationFn: () => deletePortGroup(group.vswitch_id, group.name, DESTROY_WORD),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: keys.network });
      onClose();
    },
  });
  return (
    <TypeToConfirmDialog
      title={`Delete port group ${group.name}?`}
      word={DESTROY_WORD}
      isPending={destroy.isPending}
      error={destroy.error}
      onConfirm={() => destroy.mutate()}
      onClose={onClose}
    >
      <Content component="p">
        The port group {group.name} is removed from the vSwitch {vswitchName}.
      </Content>
    </TypeToConfirmDialog>
  );
}
