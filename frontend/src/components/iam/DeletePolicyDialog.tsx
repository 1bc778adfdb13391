/** Delete a policy of the organization's own; its holders lose what it gave them. */
import { Content } from "@patternfly/react-core";
import { useMutation, useQueryClient } from "@tanstack/react-query";

import { api, unwrap } from "../../api/client";
import { keys, type Policy } from "../../api/queries";
import { ConfirmDialog } from "../common/dialogs";

export function DeletePolicyDialog({ policy, onClose }: { policy: Policy; onClose: () => void }) {
  const client = useQueryClient();
  const remove = useMutation({
    mutationFn: async () =>
      unwrap(await api.DELETE("/api/v1/policies/{policy_id}", { params: { path: { policy_id: policy.id } } })),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: keys.policies });
      void client.invalidateQueries({ queryKey: keys.users });
      void client.invalidateQueries({ queryKey: keys.me });
      onClose();
    },
  });
  return (
    <ConfirmDialog
      title={`Delete policy ${policy.name}?`}
      actionLabel="Delete"
      variant="danger"
      isPending={remove.isPending}
      error={remove.error}
      onConfirm={() => remove.mutate()}
      onClose={onClose}
    >
      <Content component="p">
        Users holding {policy.name} lose what it allows them at once. This cannot be undone.
      </Content>
    </ConfirmDialog>
  );
}
