/**
 * A user's actions in the Users list: Edit, Set policies, Tokens, Invalidate sessions,
 * Unlock, and Delete (the row's delete icon, seed: "Deleting a User"). An action no policy
 * of the signed-in user allows is left out; one the user's state forbids stays, disabled,
 * with the reason. A policy's: View (the built-in ones, which can't change), Edit, Delete.
 */
import type { Policy, User } from "../../api/queries";
import type { ResourceAction } from "../common/actions";
import { useDialogs } from "../common/DialogHost";
import { useAllowed } from "../common/permissions";
import { DeletePolicyDialog } from "./DeletePolicyDialog";
import { DeleteUserDialog } from "./DeleteUserDialog";
import { EditUserDialog } from "./EditUserDialog";
import { InvalidateSessionsDialog } from "./InvalidateSessionsDialog";
import { PolicyDialog, ViewPolicyDialog } from "./PolicyDialog";
import { SetPoliciesDialog } from "./SetPoliciesDialog";
import { UnlockUserDialog } from "./UnlockUserDialog";

export function useUserActions(user: User, showTokens: (user: User) => void): ResourceAction[] {
  const dialogs = useDialogs();
  const allowed = useAllowed();
  const actions: (ResourceAction | false)[] = [
    allowed("user.update") && {
      label: "Edit",
      run: () => dialogs.open((close) => <EditUserDialog user={user} onClose={close} />),
    },
    allowed("user.set_policies") && {
      label: "Set policies",
      disabledReason: user.is_root ? "The first user is allowed everything, whatever its policies." : undefined,
      run: () => dialogs.open((close) => <SetPoliciesDialog user={user} onClose={close} />),
    },
    allowed("token.list") && { label: "Tokens", run: () => showTokens(user) },
    allowed("user.invalidate_sessions") && {
      label: "Invalidate sessions",
      run: () => dialogs.open((close) => <InvalidateSessionsDialog user={user} onClose={close} />),
    },
    allowed("user.unlock") && {
      label: "Unlock",
      disabledReason: user.locked ? undefined : "The user is not locked.",
      run: () => dialogs.open((close) => <UnlockUserDialog user={user} onClose={close} />),
    },
    allowed("user.delete") && {
      label: "Delete",
      isDanger: true,
      disabledReason: user.is_root ? "The deployment's first user can't be deleted." : undefined,
      run: () => dialogs.open((close) => <DeleteUserDialog user={user} onClose={close} />),
    },
  ];
  return actions.filter((action) => action !== false);
}

export function usePolicyActions(policy: Policy): ResourceAction[] {
  const dialogs = useDialogs();
  const allowed = useAllowed();
  if (policy.builtin) {
    return [
      {
        label: "View",
        run: () => dialogs.open((close) => <ViewPolicyDialog policy={policy} onClose={close} />),
      },
    ];
  }
  const actions: (ResourceAction | false)[] = [
    allowed("policy.update") && {
      label: "Edit",
      run: () =>
        dialogs.open((close) => (
          <PolicyDialog organizationId={policy.organization_id ?? ""} policy={policy} onClose={close} />
        )),
    },
    allowed("policy.delete") && {
      label: "Delete",
      isDanger: true,
      run: () => dialogs.open((close) => <DeletePolicyDialog policy={policy} onClose={close} />),
    },
  ];
  return actions.filter((action) => action !== false);
}
