/**
 * Invalidate sessions: signs a user out everywhere (their API tokens stay; revoke those on
 * their own). For one's own user, the session in this browser may be kept.
 */
import { Checkbox, Content } from "@patternfly/react-core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";

import { api, unwrap } from "../../api/client";
import { keys, useMe } from "../../api/queries";
import { ConfirmDialog } from "../common/dialogs";

export function InvalidateSessionsDialog({
  user,
  onClose,
}: {
  user: { id: string; username: string };
  onClose: () => void;
}) {
  const client = useQueryClient();
  const me = useMe();
  const self = me.data?.id === user.id;
  const checkboxId = useId();
  const [endThisOne, setEndThisOne] = useState(false);
  const invalidate = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST("/api/v1/users/{user_id}/invalidate-sessions", {
          params: { path: { user_id: user.id } },
          // A string on the wire, as the product's clients send it.
          body: { invalidate_current: self && endThisOne ? "true" : "false" },
        }),
      ),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: keys.user(user.id) });
      onClose();
    },
  });
  return (
    <ConfirmDialog
      title="Invalidate sessions"
      variant="danger"
      isPending={invalidate.isPending}
      error={invalidate.error}
      onConfirm={() => invalidate.mutate()}
      onClose={onClose}
    >
      <Content component="p">
        {self
          ? "Sign yourself out of every other browser and client that uses a session."
          : `Sign ${user.username} out of every browser and client that uses a session.`}{" "}
        API tokens are not affected.
      </Content>
      {self && (
        <Checkbox
          id={checkboxId}
          label="Also end the session in this browser"
          isChecked={endThisOne}
          onChange={(_e, checked) => setEndThisOne(checked)}
        />
      )}
    </ConfirmDialog>
  );
}
