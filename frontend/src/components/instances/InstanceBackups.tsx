/**
 * The Backups tab (seed: "view instance snapshots and create backups"): the instance's
 * snapshots with Create, and per row Revert and Delete. The server decides when a snapshot
 * can be taken (running or stopped; a UEFI guest only stopped; qcow2 volumes only) and
 * its reason is shown as it words it; the UI pre-checks only the state and a busy task.
 * Without a policy allowing snapshots, the list is shown without its buttons. A container
 * has no snapshots: Create is disabled with the reason, and the empty list says why.
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
  Tooltip,
} from "@patternfly/react-core";
import { Table, Tbody, Td, Th, Thead, Tr } from "@patternfly/react-table";
import type { ReactElement } from "react";

import { type Instance, type Snapshot, useInstanceSnapshots } from "../../api/queries";
import { useDialogs } from "../common/DialogHost";
import { useAllowed } from "../common/permissions";
import { QueryState } from "../common/ResourcePage";
import { CreateSnapshotDialog } from "./CreateSnapshotDialog";
import { formatTime } from "./InstanceSummaryCard";
import { DeleteSnapshotDialog, RevertSnapshotDialog } from "./SnapshotActionDialogs";
import { isContainer, snapshotRefusal } from "./states";

function Guarded({ reason, children }: { reason: string | undefined; children: ReactElement }) {
  return reason ? <Tooltip content={reason}>{children}</Tooltip> : children;
}

export function InstanceBackups({ instance }: { instance: Instance }) {
  const dialogs = useDialogs();
  const snapshots = useInstanceSnapshots(instance.id);
  const mayChange = useAllowed()("instance.snapshot");
  const refusal = snapshotRefusal(instance);
  const create = () => dialogs.open((close) => <CreateSnapshotDialog instance={instance} onClose={close} />);
  const revert = (snapshot: Snapshot) =>
    dialogs.open((close) => <RevertSnapshotDialog instance={instance} snapshot={snapshot} onClose={close} />);
  const remove = (snapshot: Snapshot) =>
    dialogs.open((close) => <DeleteSnapshotDialog instance={instance} snapshot={snapshot} onClose={close} />);

  const createButton = (
    <Button variant="primary" size="sm" isAriaDisabled={refusal !== undefined} onClick={create}>
      Create
    </Button>
  );
  return (
    <Card>
      <CardHeader
        actions={{ actions: mayChange ? <Guarded reason={refusal}>{createButton}</Guarded> : null }}
      >
        <CardTitle>Snapshots</CardTitle>
      </CardHeader>
      <CardBody>
        {!snapshots.data ? (
          <QueryState error={snapshots.error} isPending={snapshots.isPending} />
        ) : snapshots.data.length === 0 ? (
          <EmptyState headingLevel="h3" titleText="No snapshots" variant="sm">
            <EmptyStateBody>
              {isContainer(instance) ? refusal : "Create one to keep the instance's disks as they are now."}
            </EmptyStateBody>
          </EmptyState>
        ) : (
          <Table aria-label="Snapshots" variant="compact">
            <Thead>
              <Tr>
                <Th>Name</Th>
                <Th>Description</Th>
                <Th>Status</Th>
                <Th>Creation</Th>
                <Th screenReaderText="Actions" />
              </Tr>
            </Thead>
            <Tbody>
              {snapshots.data.map((snapshot) => {
                const revertRefusal =
                  snapshot.status !== "ready" ? `The snapshot is ${snapshot.status}.` : refusal;
                return (
                  <Tr key={snapshot.name}>
                    <Td dataLabel="Name">{snapshot.name}</Td>
                    <Td dataLabel="Description">{snapshot.description || "—"}</Td>
                    <Td dataLabel="Status">{snapshot.status}</Td>
                    <Td dataLabel="Creation">{formatTime(snapshot.creation)}</Td>
                    <Td isActionCell>
                      {mayChange && (
                        <Flex spaceItems={{ default: "spaceItemsSm" }} flexWrap={{ default: "nowrap" }}>
                          <Guarded reason={revertRefusal}>
                            <Button
                              variant="secondary"
                              size="sm"
                              isAriaDisabled={revertRefusal !== undefined}
                              onClick={() => revert(snapshot)}
                            >
                              Revert
                            </Button>
                          </Guarded>
                          <Guarded reason={refusal}>
                            <Button
                              variant="secondary"
                              isDanger
                              size="sm"
                              isAriaDisabled={refusal !== undefined}
                              onClick={() => remove(snapshot)}
                            >
                              Delete
                            </Button>
                          </Guarded>
                        </Flex>
                      )}
                    </Td>
                  </Tr>
                );
              })}
            </Tbody>
          </Table>
        )}
      </CardBody>
    </Card>
  );
}
