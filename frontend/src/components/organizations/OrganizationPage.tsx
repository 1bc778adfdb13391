/**
 * An organization's page: its summary, and what it holds (datacenters, clusters, nodes),
 * counted from the resource tree so the counts follow the live feed.
 */
import { Card, CardBody, CardTitle, Grid, GridItem } from "@patternfly/react-core";
import { Table, Tbody, Td, Th, Thead, Tr } from "@patternfly/react-table";
import { Link, useParams } from "react-router";

import { type OrganizationTree, useOrganization, useTree } from "../../api/queries";
import { paths } from "../app/routes";
import { ActionsDropdown } from "../common/actions";
import { Details } from "../common/Details";
import { formatLocation, formatTime } from "../common/format";
import { QueryState, ResourcePage } from "../common/ResourcePage";
import { useOrganizationActions } from "./actions";

export function OrganizationPage() {
  const { id = "" } = useParams();
  const query = useOrganization(id);
  const tree = useTree();
  if (!query.data) return <QueryState error={query.error} isPending={query.isPending} />;
  // The tree's entry is the live one (every tenancy event refreshes it); the page's own read
  // answers before the tree has loaded.
  const entry = tree.data?.find((org) => org.organization.id === id) ?? query.data;
  return <OrganizationView entry={entry} />;
}

function OrganizationView({ entry }: { entry: OrganizationTree }) {
  const organization = entry.organization;
  const actions = useOrganizationActions(organization);
  const alive = entry.nodes.filter((node) => node.alive).length;
  return (
    <ResourcePage
      kind="Organization"
      title={organization.name}
      actions={<ActionsDropdown actions={actions} />}
      basePath={paths.organization(organization.id)}
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
                        ["Name", organization.name],
                        ["Description", organization.description || "—"],
                        ["ID", organization.id],
                        ["Created", formatTime(organization.creation)],
                      ]}
                    />
                  </CardBody>
                </Card>
              </GridItem>
              <GridItem lg={6}>
                <Card isFullHeight>
                  <CardTitle>Resources</CardTitle>
                  <CardBody>
                    <Details
                      items={[
                        ["Datacenters", entry.datacenters.length],
                        ["Clusters", entry.clusters.length],
                        ["Nodes", `${entry.nodes.length} (${alive} alive)`],
                      ]}
                    />
                  </CardBody>
                </Card>
              </GridItem>
              <GridItem span={12}>
                <DatacentersCard entry={entry} />
              </GridItem>
            </Grid>
          ),
        },
      ]}
    />
  );
}

function DatacentersCard({ entry }: { entry: OrganizationTree }) {
  const clustersOf = (datacenterId: string) =>
    entry.clusters.filter((cluster) => cluster.datacenter_id === datacenterId).length;
  return (
    <Card>
      <CardTitle>Datacenters</CardTitle>
      <CardBody>
        {entry.datacenters.length === 0 ? (
          "This organization has no datacenters."
        ) : (
          <Table aria-label="Datacenters" variant="compact">
            <Thead>
              <Tr>
                <Th>Name</Th>
                <Th>Location</Th>
                <Th>Clusters</Th>
              </Tr>
            </Thead>
            <Tbody>
              {entry.datacenters.map((dc) => (
                <Tr key={dc.id}>
                  <Td dataLabel="Name">
                    <Link to={paths.datacenter(dc.id)}>{dc.name}</Link>
                  </Td>
                  <Td dataLabel="Location">
                    {dc.location ? formatLocation(dc.location) : "Not set"}
                  </Td>
                  <Td dataLabel="Clusters">{clustersOf(dc.id)}</Td>
                </Tr>
              ))}
            </Tbody>
          </Table>
        )}
      </CardBody>
    </Card>
  );
}
