/**
 * Delete User (seed: "Deleting a User"): the overlay asks for the confirmation word, the
 * same DESTROY as every destructive action of the UI, and Confirm deletes the user, its
 * sessions and tokens.
 */
import { Content } from "@patternfly/react-core";
import { useMutation, useQueryClient } from "@tanstack/react-query";

import { api, unwrap } from "../../api/client";
import { keys, type User } from "../../api/queries";
import { DESTROY_WORD, TypeToConfirmDialog } from "../common/dialogs";

export function DeleteUserDialog({ user, onClose }: { user: User; onClose: () => void }) {
  const client = useQueryClient();
  const remove = useMutation({
    mutationFn: async () =>
      unwrap(await api.DELETE("/api/v1/users/{user_id}", { params: { path: { user_id: user.id } } })),
    onSuccess: () => {
      client.removeQueries({ queryKey: keys.user(user.id) });
      void client.invalidateQueries({ queryKey: keys.users });
      onClose();
    },
  });
  return (
    <TypeToConfirmDialog
      title="Delete User"
      word={DESTROY_WORD}
      isPending={remove.isPending}
      error={remove.error}
      onConfirm={() => remove.mutate()}
      onClose={onClose}
    >
      <Content component="p">
        Delete the user <strong>{user.username}</strong>? Their sessions and API tokens end with
        them, and this cannot be undone.
      </Content>
    </TypeToConfirmDialog>
  );
}
