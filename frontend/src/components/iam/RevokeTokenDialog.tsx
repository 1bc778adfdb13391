/** Revoke a token: clients using it are refused from then on. */
import { Content } from "@patternfly/react-core";
import { useMutation, useQueryClient } from "@tanstack/react-query";

import { api, unwrap } from "../../api/client";
import { type ApiToken, keys } from "../../api/queries";
import { ConfirmDialog } from "../common/dialogs";

export function RevokeTokenDialog({
  user,
  token,
  onClose,
}: {
  user: { id: string; username: string };
  token: ApiToken;
  onClose: () => void;
}) {
  const client = useQueryClient();
  const revoke = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.DELETE("/api/v1/users/{user_id}/tokens/{token_id}", {
          params: { path: { user_id: user.id, token_id: token.id } },
        }),
      ),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: keys.userTokens(user.id) });
      onClose();
    },
  });
  return (
    <ConfirmDialog
      title={`Revoke token ${token.name}?`}
      actionLabel="Revoke"
      variant="danger"
      isPending={revoke.isPending}
      error={revoke.error}
      onConfirm={() => revoke.mutate()}
      onClose={onClose}
    >
      <Content component="p">Scripts and clients using this token are refused from now on.</Content>
    </ConfirmDialog>
  );
}
