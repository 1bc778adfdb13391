/**
 * The cluster page's Cluster tab (seed: "For a detailed view, click on the Cluster tab ...
 * The licensing status of each node in the cluster will be displayed"): each node with its
 * state and its licence key's status and expiry, and Set License Key for it.
 */
import { Alert, Button, Card, CardBody, CardTitle, Spinner, Stack } from "@patternfly/react-core";
import { Table, Tbody, Td, Th, Thead, Tr } from "@patternfly/react-table";
import { Link } from "react-router";

import { messageOf } from "../../api/errors";
import { type Node, useClusterLicensing } from "../../api/queries";
import { paths } from "../app/routes";
import { useDialogs } from "../common/DialogHost";
import { useAllowed } from "../common/permissions";
import { formatExpiry, LicensingStatusLabel } from "../licensing/LicenseStatus";
import { SetLicenseKeyDialog } from "../licensing/SetLicenseKeyDialog";
import { NodeState } from "../nodes/NodeState";

export function ClusterTab({ clusterId, nodes }: { clusterId: string; nodes: Node[] }) {
  const licensing = useClusterLicensing(clusterId);
  const dialogs = useDialogs();
  const allowed = useAllowed();
  const mayLicense = allowed("license.set");
  return (
    <Card>
      <CardTitle>Licensing</CardTitle>
      <CardBody>
        <Stack hasGutter>
          {licensing.data ? (
            <div>
              Cluster: <LicensingStatusLabel status={licensing.data.cluster.status} />
              {licensing.data.cluster.next_expiry
                ? ` — next expiry ${formatExpiry(licensing.data.cluster.next_expiry)}`
                : null}
            </div>
          ) : licensing.error ? (
            <Alert variant="warning" isInline isPlain title="Can't read the licensing status">
              {messageOf(licensing.error)}
            </Alert>
          ) : (
            <Spinner size="md" aria-label="Loading the licensing status" />
          )}
          <Table aria-label="Node licenses" variant="compact">
            <Thead>
              <Tr>
                <Th>Node</Th>
                <Th>State</Th>
                <Th>License</Th>
                <Th>Expiry</Th>
                {mayLicense ? <Th screenReaderText="Actions" /> : null}
              </Tr>
            </Thead>
            <Tbody>
              {nodes.map((node) => {
                const license = licensing.data?.nodes[node.id];
                return (
                  <Tr key={node.id}>
                    <Td dataLabel="Node">
                      <Link to={paths.node(node.id)}>{node.name}</Link>
                    </Td>
                    <Td dataLabel="State">
                      <NodeState alive={node.alive} joining={node.joining} />
                    </Td>
                    <Td dataLabel="License">
                      {license ? (
                        <LicensingStatusLabel status={license.status} />
                      ) : licensing.data ? (
                        // Not in the cluster's list (it joined since): no key of its own yet.
                        <LicensingStatusLabel status="missing" />
                      ) : (
                        "—"
                      )}
                    </Td>
                    <Td dataLabel="Expiry">{formatExpiry(license?.expiry)}</Td>
                    {mayLicense ? (
                      <Td isActionCell>
                        <Button
                          variant="secondary"
                          size="sm"
                          aria-label={`Set License Key of ${node.name}`}
                          onClick={() =>
                            dialogs.open((close) => (
                              <SetLicenseKeyDialog node={node} onClose={close} />
                            ))
                          }
                        >
                          Set License Key
                        </Button>
                      </Td>
                    ) : null}
                  </Tr>
                );
              })}
            </Tbody>
          </Table>
        </Stack>
      </CardBody>
    </Card>
  );
}
