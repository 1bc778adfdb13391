/**
 * The Policies section of the IAM tab: the built-in policies (Administrator, Operator,
 * Auditor, Console user; marked, read-only) and the organization's own, with Create policy,
 * and per row View, or Edit and Delete.
 */
import { Button, Card, CardBody, CardHeader, CardTitle, Flex, FlexItem, Label } from "@patternfly/react-core";
import { PlusCircleIcon } from "@patternfly/react-icons";
import { Table, Tbody, Td, Th, Thead, Tr } from "@patternfly/react-table";

import { type Policy, usePolicies } from "../../api/queries";
import { useDialogs } from "../common/DialogHost";
import { useAllowed } from "../common/permissions";
import { QueryState } from "../common/ResourcePage";
import { usePolicyActions } from "./actions";
import { PolicyDialog } from "./PolicyDialog";

export function PoliciesCard({ organizationId }: { organizationId: string }) {
  const dialogs = useDialogs();
  const allowed = useAllowed();
  const policies = usePolicies(organizationId);
  return (
    <Card>
      <CardHeader
        actions={{
          actions: allowed("policy.create") && (
            <Button
              variant="secondary"
              icon={<PlusCircleIcon />}
              onClick={() =>
                dialogs.open((close) => <PolicyDialog organizationId={organizationId} onClose={close} />)
              }
            >
              Create policy
            </Button>
          ),
        }}
      >
        <CardTitle>Policies</CardTitle>
      </CardHeader>
      <CardBody>
        {!policies.data ? (
          <QueryState error={policies.error} isPending={policies.isPending} />
        ) : (
          <Table aria-label="Policies" variant="compact">
            <Thead>
              <Tr>
                <Th>Name</Th>
                <Th>Description</Th>
                <Th modifier="fitContent">Statements</Th>
                <Th screenReaderText="Actions" />
              </Tr>
            </Thead>
            <Tbody>
              {policies.data.map((policy) => (
                <PolicyRow key={policy.id} policy={policy} />
              ))}
            </Tbody>
          </Table>
        )}
      </CardBody>
    </Card>
  );
}

function PolicyRow({ policy }: { policy: Policy }) {
  const actions = usePolicyActions(policy);
  return (
    <Tr>
      <Td dataLabel="Name">
        {policy.name}{" "}
        {policy.builtin && (
          <Label isCompact color="blue">
            Built-in
          </Label>
        )}
      </Td>
      <Td dataLabel="Description">{policy.description || "—"}</Td>
      <Td dataLabel="Statements">{policy.statements.length}</Td>
      <Td isActionCell>
        <Flex spaceItems={{ default: "spaceItemsSm" }} flexWrap={{ default: "nowrap" }}>
          {actions.map((action) => (
            <FlexItem key={action.label}>
              <Button
                variant={action.isDanger ? "danger" : "secondary"}
                aria-label={`${action.label} ${policy.name}`}
                onClick={() => action.run?.()}
              >
                {action.label}
              </Button>
            </FlexItem>
          ))}
        </Flex>
      </Td>
    </Tr>
  );
}
