/**
 * The policies a user holds, as a checklist of the organization's policies (the built-in
 * ones first). A user's policies are evaluated together, in the order given; the order
 * here is the list's.
 */
import { Checkbox, FormGroup, Spinner } from "@patternfly/react-core";
import { useId } from "react";

import { messageOf } from "../../api/errors";
import { usePolicies } from "../../api/queries";
import { FieldError } from "../common/FieldError";

export function PolicyChecklist({
  organizationId,
  value,
  onChange,
  error,
}: {
  organizationId: string;
  value: string[];
  onChange: (policyIds: string[]) => void;
  error: unknown;
}) {
  const id = useId();
  const policies = usePolicies(organizationId);
  const toggle = (policyId: string, checked: boolean) => {
    const chosen = new Set(value);
    if (checked) chosen.add(policyId);
    else chosen.delete(policyId);
    // In the list's order, so the order of evaluation doesn't depend on the clicks.
    onChange((policies.data ?? []).map((p) => p.id).filter((p) => chosen.has(p)));
  };
  return (
    <FormGroup label="Policies" role="group" fieldId={id} isStack>
      {policies.isPending && <Spinner size="md" aria-label="Loading policies" />}
      {policies.isError && messageOf(policies.error)}
      {policies.data?.map((policy) => (
        <Checkbox
          key={policy.id}
          id={`${id}-${policy.id}`}
          label={policy.name}
          description={policy.description || undefined}
          isChecked={value.includes(policy.id)}
          onChange={(_e, checked) => toggle(policy.id, checked)}
        />
      ))}
      <FieldError error={error} field="policy_ids" />
    </FormGroup>
  );
}
