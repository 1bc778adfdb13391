/**
 * A cluster's page. Summary: the seed's cluster-level monitoring (Cluster Health with its
 * reasons, Number of Nodes, License Status, Deployment Overview), what the cluster is, and
 * its nodes with whether each is alive. Cluster: each node's licence status. Storage: its
 * storage pools.
 */
import { Card, CardBody, CardTitle, Content, Grid, GridItem, Spinner } from "@patternfly/react-core";
import { Table, Tbody, Td, Th, Thead, Tr } from "@patternfly/react-table";
import { Link, useParams } from "react-router";

import { type ClusterFull, useCluster, useTree } from "../../api/queries";
import { paths } from "../app/routes";
import { ActionsDropdown } from "../common/actions";
import { Details } from "../common/Details";
import { formatTime } from "../common/format";
import { QueryState, ResourcePage } from "../common/ResourcePage";
import { LicenseStatusCard } from "../licensing/LicenseStatusCard";
import { HealthStatus } from "../monitoring/Health";
import { NodeState } from "../nodes/NodeState";
import { ClusterStorage } from "../storage/ClusterStorage";
import { useClusterActions } from "./actions";
import { ClusterHealth, faultTolerance } from "./ClusterHealth";
import { ClusterTab } from "./ClusterTab";
import { DeploymentOverviewCard } from "./DeploymentOverviewCard";

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
              <GridItem md={4}>
                <Card isFullHeight>
                  <CardTitle>Cluster Health</CardTitle>
                  <CardBody>
                    <HealthStatus
                      status={cluster.health_status}
                      reasons={cluster.health_reasons}
                    />
                  </CardBody>
                </Card>
              </GridItem>
              <GridItem md={4}>
                <Card isFullHeight>
                  <CardTitle>Number of Nodes</CardTitle>
                  <CardBody>
                    <div className="ce-big-number">{cluster.node_count}</div>
                    <Content component="small">
                      {tree.data
                        ? `${nodes.filter((node) => node.alive).length} alive`
                        : "\u00a0"}
                    </Content>
                  </CardBody>
                </Card>
              </GridItem>
              <GridItem md={4}>
                <LicenseStatusCard clusterId={cluster.id} />
              </GridItem>
              <GridItem lg={7}>
                <DeploymentOverviewCard cluster={cluster} />
              </GridItem>
              <GridItem lg={5}>
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
        {
          key: "cluster",
          title: "Cluster",
          content: <ClusterTab clusterId={cluster.id} nodes={nodes} />,
        },
        {
          key: "storage",
          title: "Storage",
          content: <ClusterStorage clusterId={cluster.id} nodes={nodes} />,
        },
      ]}
    />
  );
}
