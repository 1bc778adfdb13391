/**
 * A cluster's page: its summary (health, node count, fault tolerance, leader), the resources
 * its nodes add up to, and its nodes with whether each is alive.
 */
import {
  Alert,
  Card,
  CardBody,
  CardTitle,
  Grid,
  GridItem,
  Spinner,
  Stack,
} from "@patternfly/react-core";
import { Table, Tbody, Td, Th, Thead, Tr } from "@patternfly/react-table";
import { Link, useParams } from "react-router";

import { messageOf } from "../../api/errors";
import { type ClusterFull, useCluster, useClusterHardware, useTree } from "../../api/queries";
import { paths } from "../app/routes";
import { ActionsDropdown } from "../common/actions";
import { Details } from "../common/Details";
import { formatTime } from "../common/format";
import { QueryState, ResourcePage } from "../common/ResourcePage";
import { NodeState } from "../nodes/NodeState";
import { useClusterActions } from "./actions";
import { ClusterHealth, faultTolerance } from "./ClusterHealth";

export function ClusterPage() {
  const { id = "" } = useParams();
  const query = useCluster(id);
  if (!query.data) return <QueryState error={query.error} isPending={query.isPending} />;
  return <ClusterView cluster={query.data.cluster} />;
}

function ClusterView({ cluster }: { cluster: ClusterFull }) {
  const actions = useClusterActions(cluster);
  const tree = useTree();
  const organization = tree.data?.find((org) => org.organization.id === cluster.organization_id);
  // The tree carries every node with its alive state, refreshed by the event feed.
  const nodes = (organization?.nodes ?? []).filter((node) => node.cluster_id === cluster.id);
  const datacenter = organization?.datacenters.find((dc) => dc.id === cluster.datacenter_id);
  const leader = nodes.find((node) => node.id === cluster.leader_id);
  return (
    <ResourcePage
      kind="Cluster"
      title={cluster.name}
      status={<ClusterHealth status={cluster.health_status} />}
      actions={actions.length > 0 ? <ActionsDropdown actions={actions} /> : undefined}
      basePath={paths.cluster(cluster.id)}
      tabs={[
        {
          key: "summary",
          title: "Summary",
          content: (
            <Grid hasGutter>
              <GridItem lg={7}>
                <Card isFullHeight>
                  <CardTitle>Summary</CardTitle>
                  <CardBody>
                    <Details
                      items={[
                        ["Name", cluster.name],
                        ["Description", cluster.description || "—"],
                        ["ID", cluster.id],
                        [
                          "Datacenter",
                          <Link key="dc" to={paths.datacenter(cluster.datacenter_id)}>
                            {datacenter?.name ?? cluster.datacenter_id}
                          </Link>,
                        ],
                        ["Health", <ClusterHealth key="health" status={cluster.health_status} />],
                        [
                          "Nodes",
                          cluster.standalone
                            ? `${cluster.node_count} (standalone)`
                            : cluster.node_count,
                        ],
                        ["Fault tolerance", faultTolerance(cluster.fault_tolerance)],
                        [
                          "Leader",
                          cluster.leader_id ? (
                            <Link key="leader" to={paths.node(cluster.leader_id)}>
                              {leader?.name ?? cluster.leader_id}
                            </Link>
                          ) : (
                            "None"
                          ),
                        ],
                        ["Created", formatTime(cluster.creation)],
                      ]}
                    />
                  </CardBody>
                </Card>
              </GridItem>
              <GridItem lg={5}>
                <ResourcesCard clusterId={cluster.id} />
              </GridItem>
              <GridItem span={12}>
                <Card>
                  <CardTitle>Nodes</CardTitle>
                  <CardBody>
                    {nodes.length === 0 ? (
                      tree.isPending ? (
                        <Spinner size="md" aria-label="Loading nodes" />
                      ) : (
                        "This cluster has no nodes."
                      )
                    ) : (
                      <Table aria-label="Nodes" variant="compact">
                        <Thead>
                          <Tr>
                            <Th>Name</Th>
                            <Th>State</Th>
                            <Th>IP address</Th>
                            <Th>Last seen</Th>
                          </Tr>
                        </Thead>
                        <Tbody>
                          {nodes.map((node) => (
                            <Tr key={node.id}>
                              <Td dataLabel="Name">
                                <Link to={paths.node(node.id)}>{node.name}</Link>
                                {node.id === cluster.leader_id ? " (leader)" : ""}
                              </Td>
                              <Td dataLabel="State">
                                <NodeState alive={node.alive} joining={node.joining} />
                              </Td>
                              <Td dataLabel="IP address">{node.ip_address ?? "—"}</Td>
                              <Td dataLabel="Last seen">{formatTime(node.last_seen)}</Td>
                            </Tr>
                          ))}
                        </Tbody>
                      </Table>
                    )}
                  </CardBody>
                </Card>
              </GridItem>
            </Grid>
          ),
        },
      ]}
    />
  );
}

/** What the cluster's nodes add up to (GET /clusters/{id}/hardware). */
function ResourcesCard({ clusterId }: { clusterId: string }) {
  const hardware = useClusterHardware(clusterId);
  return (
    <Card isFullHeight>
      <CardTitle>Resources</CardTitle>
      <CardBody>
        {hardware.data ? (
          <Stack hasGutter>
            <Details
              items={[
                ["vCPUs", hardware.data.vcpus],
                ["Memory", `${hardware.data.memory_gb} GB`],
                ["Storage", `${hardware.data.storage_gb} GB`],
              ]}
            />
            {hardware.data.partial && (
              <Alert variant="warning" isInline isPlain title="Partial totals">
                Some nodes&apos; hardware facts are missing or stale, so these totals may be low.
              </Alert>
            )}
          </Stack>
        ) : hardware.error ? (
          <Alert variant="danger" isInline isPlain title="Can't read the resources">
            {messageOf(hardware.error)}
          </Alert>
        ) : (
          <Spinner size="md" aria-label="Loading resources" />
        )}
      </CardBody>
    </Card>
  );
}
