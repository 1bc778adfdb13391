/**
 * A user's API tokens: name, creation, expiry, last use; Create token (the token is shown
 * once) and Revoke. The signed-in user's own tokens (My account) need no permission; another
 * user's (the IAM tab) need token.list, token.create and token.delete.
 */
import {
  Button,
  Card,
  CardBody,
  CardHeader,
  CardTitle,
  EmptyState,
  EmptyStateBody,
  Flex,
  FlexItem,
} from "@patternfly/react-core";
import { Table, Tbody, Td, Th, Thead, Tr } from "@patternfly/react-table";

import { useUserTokens } from "../../api/queries";
import { useDialogs } from "../common/DialogHost";
import { formatTime } from "../common/format";
import { useAllowed } from "../common/permissions";
import { QueryState } from "../common/ResourcePage";
import { CreateTokenDialog } from "./CreateTokenDialog";
import { RevokeTokenDialog } from "./RevokeTokenDialog";

export function TokensCard({
  user,
  self,
  onHide,
}: {
  user: { id: string; username: string };
  /** The signed-in user's own tokens. */
  self: boolean;
  /** Shown when the card can be closed (the IAM tab's view of another user). */
  onHide?: () => void;
}) {
  const dialogs = useDialogs();
  const allowed = useAllowed();
  const tokens = useUserTokens(user.id);
  const mayCreate = self || allowed("token.create");
  const mayRevoke = self || allowed("token.delete");
  const title = self ? "API tokens" : `API tokens of ${user.username}`;
  return (
    <Card aria-label={title}>
      <CardHeader
        actions={{
          actions: (
            <Flex spaceItems={{ default: "spaceItemsSm" }}>
              {mayCreate && (
                <FlexItem>
                  <Button
                    variant="secondary"
                    onClick={() => dialogs.open((close) => <CreateTokenDialog user={user} onClose={close} />)}
                  >
                    Create token
                  </Button>
                </FlexItem>
              )}
              {onHide && (
                <FlexItem>
                  <Button variant="link" onClick={onHide}>
                    Hide
                  </Button>
                </FlexItem>
              )}
            </Flex>
          ),
        }}
      >
        <CardTitle>{title}</CardTitle>
      </CardHeader>
      <CardBody>
        {!tokens.data ? (
          <QueryState error={tokens.error} isPending={tokens.isPending} />
        ) : tokens.data.length === 0 ? (
          <EmptyState headingLevel="h3" titleText="No API tokens" variant="sm">
            <EmptyStateBody>
              A token lets a script or the command line act as {self ? "you" : user.username}: send it as
              "Authorization: Bearer &lt;token&gt;".
            </EmptyStateBody>
          </EmptyState>
        ) : (
          <Table aria-label={title} variant="compact">
            <Thead>
              <Tr>
                <Th>Name</Th>
                <Th>Created</Th>
                <Th>Expiry</Th>
                <Th>Last used</Th>
                <Th screenReaderText="Actions" />
              </Tr>
            </Thead>
            <Tbody>
              {tokens.data.map((token) => (
                <Tr key={token.id}>
                  <Td dataLabel="Name">{token.name}</Td>
                  <Td dataLabel="Created">{formatTime(token.creation)}</Td>
                  <Td dataLabel="Expiry">{token.expiry ? formatTime(token.expiry) : "Never"}</Td>
                  <Td dataLabel="Last used">{token.last_used ? formatTime(token.last_used) : "Never"}</Td>
                  <Td isActionCell>
                    {mayRevoke && (
                      <Button
                        variant="secondary"
                        isDanger
                        size="sm"
                        aria-label={`Revoke ${token.name}`}
                        onClick={() =>
                          dialogs.open((close) => <RevokeTokenDialog user={user} token={token} onClose={close} />)
                        }
                      >
                        Revoke
                      </Button>
                    )}
                  </Td>
                </Tr>
              ))}
            </Tbody>
          </Table>
        )}
      </CardBody>
    </Card>
  );
}
