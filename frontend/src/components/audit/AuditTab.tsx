/**
 * The organization's Audit tab (seed: "Auditing and Compliance"): the audit trail, and
 * below it the User Lockouts section, each when a policy of the user lets them read it.
 */
import { Stack, StackItem } from "@patternfly/react-core";

import { useAllowed } from "../common/permissions";
import { AuditTrailCard } from "./AuditTrailCard";
import { LockoutsCard } from "./LockoutsCard";

export function AuditTab({ organizationId }: { organizationId: string }) {
  const allowed = useAllowed();
  return (
    <Stack hasGutter>
      {allowed("audit.read") && (
        <StackItem>
          <AuditTrailCard organizationId={organizationId} />
        </StackItem>
      )}
      {allowed("lockout.read") && (
        <StackItem>
          <LockoutsCard organizationId={organizationId} />
        </StackItem>
      )}
    </Stack>
  );
}
