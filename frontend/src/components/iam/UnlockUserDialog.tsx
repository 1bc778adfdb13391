/** Unlock: ends a user's lockout (after too many failed sign-ins) before it runs out. */
import { Content } from "@patternfly/react-core";
import { useMutation, useQueryClient } from "@tanstack/react-query";

import { api, unwrap } from "../../api/client";
import { keys } from "../../api/queries";
import { ConfirmDialog } from "../common/dialogs";

export function UnlockUserDialog({
  user,
  onClose,
}: {
  user: { id: string; username: string };
  onClose: () => void;
}) {
  const client = useQueryClient();
  const unlock = useMutation({
    mutationFn: async () =>
      unwrap(await api.DELETE("/api/v1/users/{user_id}/lockout", { params: { path: { user_id: user.id } } })),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: keys.users });
      void client.invalidateQueries({ queryKey: keys.lockouts });
      void client.invalidateQueries({ queryKey: keys.audit });
      onClose();
    },
  });
  return (
    <ConfirmDialog
      title={`Unlock ${user.username}?`}
      actionLabel="Unlock"
      isPending={unlock.isPending}
      error={unlock.error}
      onConfirm={() => unlock.mutate()}
      onClose={onClose}
    >
      <Content component="p">
        {user.username} can sign in again at once, without waiting for the lockout to end.
      </Content>
    </ConfirmDialog>
  );
}
