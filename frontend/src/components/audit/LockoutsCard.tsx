/**
 * User Lockouts (seed: "Scroll down to the Users Lockouts section to see details of any
 * locked-out users"): each lockout after too many failed sign-ins, when it began and ends,
 * how many failures and from where; an active one can be ended at once with Unlock.
 */
import { Button, Card, CardBody, CardTitle, Label } from "@patternfly/react-core";
import { Table, Tbody, Td, Th, Thead, Tr } from "@patternfly/react-table";
import { useState } from "react";

import { type Lockout, useLockouts } from "../../api/queries";
import { useDialogs } from "../common/DialogHost";
import { formatTime } from "../common/format";
import { useAllowed } from "../common/permissions";
import { QueryState } from "../common/ResourcePage";
import { UnlockUserDialog } from "../iam/UnlockUserDialog";
import { Pager } from "./Pager";

export function LockoutsCard({ organizationId }: { organizationId: string }) {
  const [page, setPage] = useState(1);
  const [entries, setEntries] = useState(25);
  const lockouts = useLockouts(organizationId, page, entries);
  const rows = lockouts.data ?? [];
  return (
    <Card>
      <CardTitle component="h2">User Lockouts</CardTitle>
      <CardBody>
        {!lockouts.data ? (
          <QueryState error={lockouts.error} isPending={lockouts.isPending} />
        ) : (
          <Table aria-label="User Lockouts" variant="compact">
            <Thead>
              <Tr>
                <Th modifier="wrap">User</Th>
                <Th modifier="wrap">Locked at</Th>
                <Th modifier="wrap">Until</Th>
                <Th modifier="wrap">Failures</Th>
                <Th modifier="wrap">Source address</Th>
                <Th modifier="wrap">Status</Th>
                <Th screenReaderText="Actions" />
              </Tr>
            </Thead>
            <Tbody>
              {rows.length === 0 ? (
                <Tr>
                  <Td colSpan={7}>No user has been locked out.</Td>
                </Tr>
              ) : (
                rows.map((lockout) => <LockoutRow key={lockout.id} lockout={lockout} />)
              )}
            </Tbody>
          </Table>
        )}
        <Pager
          page={page}
          entries={entries}
          shown={rows.length}
          sizes={[25, 50, 100]}
          label="User Lockouts pages"
          onPage={setPage}
          onEntries={(next) => {
            setEntries(next);
            setPage(1);
          }}
        />
      </CardBody>
    </Card>
  );
}

function LockoutRow({ lockout }: { lockout: Lockout }) {
  const dialogs = useDialogs();
  const allowed = useAllowed();
  // A lockout ends when its time runs out or an administrator unlocks the user.
  const status = lockout.active ? (
    <Label color="red" isCompact>
      Locked
    </Label>
  ) : (
    <Label isCompact>Ended</Label>
  );
  const user = { id: lockout.user_id, username: lockout.username };
  return (
    <Tr>
      <Td dataLabel="User">{lockout.username}</Td>
      <Td dataLabel="Locked at">{formatTime(lockout.locked_at)}</Td>
      <Td dataLabel="Until">{formatTime(lockout.until)}</Td>
      <Td dataLabel="Failures">{lockout.failures}</Td>
      <Td dataLabel="Source address">{lockout.source_address ?? "—"}</Td>
      <Td dataLabel="Status">{status}</Td>
      <Td isActionCell>
        {lockout.active && allowed("user.unlock") && (
          <Button
            variant="secondary"
            size="sm"
            aria-label={`Unlock ${lockout.username}`}
            onClick={() => dialogs.open((close) => <UnlockUserDialog user={user} onClose={close} />)}
          >
            Unlock
          </Button>
        )}
      </Td>
    </Tr>
  );
}
