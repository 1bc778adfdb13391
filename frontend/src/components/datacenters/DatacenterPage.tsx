/** A datacenter's page: its summary with its location on the map, and its clusters. */
import { Card, CardBody, CardTitle, Grid, GridItem } from "@patternfly/react-core";
import { Table, Tbody, Td, Th, Thead, Tr } from "@patternfly/react-table";
import { Link, useParams } from "react-router";

import { type ClusterFull, type Datacenter, useDatacenter, useTree } from "../../api/queries";
import { paths } from "../app/routes";
import { ClusterHealth, faultTolerance } from "../clusters/ClusterHealth";
import { ActionsDropdown } from "../common/actions";
import { Details } from "../common/Details";
import { formatLocation, formatTime } from "../common/format";
import { QueryState, ResourcePage } from "../common/ResourcePage";
import { useDatacenterActions } from "./actions";
import { WorldMap } from "./WorldMap";

export function DatacenterPage() {
  const { id = "" } = useParams();
  const query = useDatacenter(id);
  if (!query.data) return <QueryState error={query.error} isPending={query.isPending} />;
  return <DatacenterView datacenter={query.data.datacenter} clusters={query.data.clusters} />;
}

function DatacenterView({
  datacenter,
  clusters,
}: {
  datacenter: Datacenter;
  clusters: ClusterFull[];
}) {
  const actions = useDatacenterActions(datacenter);
  const tree = useTree();
  const organization = tree.data?.find(
    (org) => org.organization.id === datacenter.organization_id,
  )?.organization;
  return (
    <ResourcePage
      kind="Datacenter"
      title={datacenter.name}
      actions={actions.length > 0 ? <ActionsDropdown actions={actions} /> : undefined}
      basePath={paths.datacenter(datacenter.id)}
      tabs={[
        {
          key: "summary",
          title: "Summary",
          content: (
            <Grid hasGutter>
              <GridItem lg={6}>
                <Card isFullHeight>
                  <CardTitle>Summary</CardTitle>
                  <CardBody>
                    <Details
                      items={[
                        ["Name", datacenter.name],
                        ["Description", datacenter.description || "—"],
                        ["ID", datacenter.id],
                        [
                          "Organization",
                          <Link key="org" to={paths.organization(datacenter.organization_id)}>
                            {organization?.name ?? datacenter.organization_id}
                          </Link>,
                        ],
                        [
                          "Location",
                          datacenter.location ? formatLocation(datacenter.location) : "Not set",
                        ],
                        ["Clusters", clusters.length],
                        ["Created", formatTime(datacenter.creation)],
                      ]}
                    />
                  </CardBody>
                </Card>
              </GridItem>
              <GridItem lg={6}>
                <Card isFullHeight>
                  <CardTitle>Location</CardTitle>
                  <CardBody>
                    <WorldMap
                      location={datacenter.location}
                      label={
                        datacenter.location
                          ? `World map marking ${formatLocation(datacenter.location)}`
                          : "World map (no location set)"
                      }
                    />
                  </CardBody>
                </Card>
              </GridItem>
              <GridItem span={12}>
                <ClustersCard clusters={clusters} />
              </GridItem>
            </Grid>
          ),
        },
      ]}
    />
  );
}

function ClustersCard({ clusters }: { clusters: ClusterFull[] }) {
  return (
    <Card>
      <CardTitle>Clusters</CardTitle>
      <CardBody>
        {clusters.length === 0 ? (
          "This datacenter has no clusters."
        ) : (
          <Table aria-label="Clusters" variant="compact">
            <Thead>
              <Tr>
                <Th>Name</Th>
                <Th>Health</Th>
                <Th>Nodes</Th>
                <Th>Fault tolerance</Th>
                <Th>Description</Th>
              </Tr>
            </Thead>
            <Tbody>
              {clusters.map((cluster) => (
                <Tr key={cluster.id}>
                  <Td dataLabel="Name">
                    <Link to={paths.cluster(cluster.id)}>{cluster.name}</Link>
                  </Td>
                  <Td dataLabel="Health">
                    <ClusterHealth status={cluster.health_status} />
                  </Td>
                  <Td dataLabel="Nodes">{cluster.node_count}</Td>
                  <Td dataLabel="Fault tolerance">{faultTolerance(cluster.fault_tolerance)}</Td>
                  <Td dataLabel="Description">{cluster.description || "—"}</Td>
                </Tr>
              ))}
            </Tbody>
          </Table>
        )}
      </CardBody>
    </Card>
  );
}
