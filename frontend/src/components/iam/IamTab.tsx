/**
 * The organization's IAM tab (seed: "Identity and Access Management"): its users, the
 * API tokens of one of them when asked for (`?tokens=<user ID>`, so the view is a link),
 * and its policies. Each section shows only when a policy of the signed-in user lets
 * them read it.
 */
import { Stack, StackItem } from "@patternfly/react-core";
import { useSearchParams } from "react-router";

import { useUsers } from "../../api/queries";
import { useAllowed } from "../common/permissions";
import { PoliciesCard } from "./PoliciesCard";
import { TokensCard } from "./TokensCard";
import { UsersCard } from "./UsersCard";

export function IamTab({ organizationId }: { organizationId: string }) {
  const allowed = useAllowed();
  const [params, setParams] = useSearchParams();
  const users = useUsers(organizationId, allowed("user.list"));
  const tokensOf = params.get("tokens");
  const tokensUser = users.data?.find((user) => user.id === tokensOf);
  const showTokens = (userId: string | null) =>
    setParams(
      (current) => {
        const next = new URLSearchParams(current);
        if (userId) next.set("tokens", userId);
        else next.delete("tokens");
        return next;
      },
      { replace: true },
    );
  return (
    <Stack hasGutter>
      {allowed("user.list") && (
        <StackItem>
          <UsersCard organizationId={organizationId} onShowTokens={(user) => showTokens(user.id)} />
        </StackItem>
      )}
      {tokensUser && allowed("token.list") && (
        <StackItem>
          <TokensCard user={tokensUser} self={false} onHide={() => showTokens(null)} />
        </StackItem>
      )}
      {allowed("policy.list") && (
        <StackItem>
          <PoliciesCard organizationId={organizationId} />
        </StackItem>
      )}
    </Stack>
  );
}
