/** Set policies: which of the organization's policies a user holds (replaces them all). */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { api, unwrap } from "../../api/client";
import { keys, type User } from "../../api/queries";
import { EditDialog } from "../common/EditDialog";
import { PolicyChecklist } from "./PolicyChecklist";

export function SetPoliciesDialog({ user, onClose }: { user: User; onClose: () => void }) {
  const client = useQueryClient();
  const [policyIds, setPolicyIds] = useState<string[]>(user.policies);
  const save = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.PUT("/api/v1/users/{user_id}/policies", {
          params: { path: { user_id: user.id } },
          body: { policy_ids: policyIds },
        }),
      ),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: keys.users });
      void client.invalidateQueries({ queryKey: keys.user(user.id) });
      onClose();
    },
  });
  return (
    <EditDialog
      title={`Policies of ${user.username}`}
      fields={["policy_ids"]}
      isPending={save.isPending}
      error={save.error}
      onSubmit={() => save.mutate()}
      onClose={onClose}
    >
      <PolicyChecklist
        organizationId={user.organization_id}
        value={policyIds}
        onChange={setPolicyIds}
        error={save.error}
      />
    </EditDialog>
  );
}
