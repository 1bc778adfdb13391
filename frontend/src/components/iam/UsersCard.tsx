/**
 * The Users list of the IAM tab (seed: "The Users page displays all available users in the
 * organization, along with their roles and status"): username, status, MFA, the policies
 * it holds (its roles), Linux user, description and expiry; + Create User, Import and
 * Export above; per row the delete icon and the other actions in a menu.
 */
import {
  Alert,
  Button,
  Card,
  CardBody,
  CardHeader,
  CardTitle,
  EmptyState,
  EmptyStateBody,
  Flex,
  FlexItem,
  Label,
  LabelGroup,
  Tooltip,
} from "@patternfly/react-core";
import { PlusCircleIcon, TrashIcon } from "@patternfly/react-icons";
import { Table, Tbody, Td, Th, Thead, Tr } from "@patternfly/react-table";
import { useMutation } from "@tanstack/react-query";

import { api, unwrap } from "../../api/client";
import { messageOf } from "../../api/errors";
import { usePolicies, type User, useUsers } from "../../api/queries";
import { KebabActions } from "../common/actions";
import { useDialogs } from "../common/DialogHost";
import { saveBlob } from "../common/download";
import { formatTime } from "../common/format";
import { useAllowed } from "../common/permissions";
import { QueryState } from "../common/ResourcePage";
import { useUserActions } from "./actions";
import { CreateUserDialog } from "./CreateUserDialog";
import { ImportUsersDialog } from "./ImportUsersDialog";
import { UserStatus } from "./UserStatus";

export function UsersCard({
  organizationId,
  onShowTokens,
}: {
  organizationId: string;
  onShowTokens: (user: User) => void;
}) {
  const dialogs = useDialogs();
  const allowed = useAllowed();
  const users = useUsers(organizationId);
  const policies = usePolicies(organizationId, allowed("policy.list"));
  const policyName = (id: string) => policies.data?.find((p) => p.id === id)?.name ?? id;
  const exportCsv = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.GET("/api/v1/users/export", {
          params: { query: { organization_id: organizationId } },
          headers: { Accept: "text/csv" },
          parseAs: "blob",
        }),
      ) as Blob,
    onSuccess: (blob) => saveBlob(`users-${organizationId}.csv`, blob),
  });

  const toolbar = (
    <Flex spaceItems={{ default: "spaceItemsSm" }}>
      {allowed("user.create") && (
        <FlexItem>
          <Button
            variant="primary"
            icon={<PlusCircleIcon />}
            onClick={() =>
              dialogs.open((close) => <CreateUserDialog organizationId={organizationId} onClose={close} />)
            }
          >
            Create User
          </Button>
        </FlexItem>
      )}
      {allowed("user.import") && (
        <FlexItem>
          <Button
            variant="secondary"
            onClick={() =>
              dialogs.open((close) => <ImportUsersDialog organizationId={organizationId} onClose={close} />)
            }
          >
            Import
          </Button>
        </FlexItem>
      )}
      {allowed("user.export") && (
        <FlexItem>
          <Button variant="secondary" onClick={() => exportCsv.mutate()} isLoading={exportCsv.isPending}>
            Export
          </Button>
        </FlexItem>
      )}
    </Flex>
  );

  return (
    <Card>
      <CardHeader actions={{ actions: toolbar }}>
        <CardTitle>Users</CardTitle>
      </CardHeader>
      <CardBody>
        {exportCsv.isError && (
          <Alert variant="danger" isInline title="The users were not exported" className="pf-v6-u-mb-md">
            {messageOf(exportCsv.error)}
          </Alert>
        )}
        {!users.data ? (
          <QueryState error={users.error} isPending={users.isPending} />
        ) : users.data.length === 0 ? (
          <EmptyState headingLevel="h3" titleText="No users" variant="sm">
            <EmptyStateBody>Create users one by one, or import many from a CSV or JSON file.</EmptyStateBody>
          </EmptyState>
        ) : (
          <Table aria-label="Users" variant="compact">
            <Thead>
              <Tr>
                <Th modifier="wrap">Username</Th>
                <Th modifier="wrap">Status</Th>
                <Th modifier="wrap">MFA</Th>
                <Th modifier="wrap">Roles</Th>
                <Th modifier="wrap">Linux user</Th>
                <Th modifier="wrap">Description</Th>
                <Th modifier="wrap">Expiry</Th>
                <Th screenReaderText="Actions" />
              </Tr>
            </Thead>
            <Tbody>
              {users.data.map((user) => (
                <UserRow key={user.id} user={user} policyName={policyName} onShowTokens={onShowTokens} />
              ))}
            </Tbody>
          </Table>
        )}
      </CardBody>
    </Card>
  );
}

function UserRow({
  user,
  policyName,
  onShowTokens,
}: {
  user: User;
  policyName: (id: string) => string;
  onShowTokens: (user: User) => void;
}) {
  const actions = useUserActions(user, onShowTokens);
  const remove = actions.find((action) => action.label === "Delete");
  const others = actions.filter((action) => action !== remove);
  const roles = user.is_root ? ["Root"] : user.policies.map(policyName);
  const deleteButton = remove && (
    <Button
      variant="plain"
      aria-label={`Delete ${user.username}`}
      icon={<TrashIcon />}
      isAriaDisabled={remove.disabledReason !== undefined}
      onClick={() => remove.run?.()}
    />
  );
  return (
    <Tr>
      <Td dataLabel="Username" modifier="nowrap">
        {user.username}
      </Td>
      <Td dataLabel="Status">
        <UserStatus user={user} />
      </Td>
      <Td dataLabel="MFA">{user.mfa_enabled ? "On" : "Off"}</Td>
      <Td dataLabel="Roles">
        {roles.length === 0 ? (
          "None"
        ) : (
          <LabelGroup>
            {roles.map((role) => (
              <Label key={role} isCompact>
                {role}
              </Label>
            ))}
          </LabelGroup>
        )}
      </Td>
      <Td dataLabel="Linux user">{user.linux_user || "—"}</Td>
      <Td dataLabel="Description" modifier="breakWord">
        {user.description || "—"}
      </Td>
      <Td dataLabel="Expiry">{user.expiry ? formatTime(user.expiry) : "Never"}</Td>
      <Td isActionCell>
        <Flex spaceItems={{ default: "spaceItemsNone" }} flexWrap={{ default: "nowrap" }}>
          {deleteButton &&
            (remove.disabledReason ? <Tooltip content={remove.disabledReason}>{deleteButton}</Tooltip> : deleteButton)}
          <KebabActions actions={others} label={`Actions for ${user.username}`} />
        </Flex>
      </Td>
    </Tr>
  );
}
