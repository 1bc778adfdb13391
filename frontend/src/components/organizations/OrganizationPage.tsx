/**
 * An organization's page: its summary, and what it holds (datacenters, clusters, nodes),
 * counted from the resource tree so the counts follow the live feed; its IAM tab (users
 * and policies) and Audit tab (the trail and User Lockouts), for users whose policies let
 * them read those.
 */
import { Card, CardBody, CardTitle, Grid, GridItem } from "@patternfly/react-core";
import { Table, Tbody, Td, Th, Thead, Tr } from "@patternfly/react-table";
import { Link, useParams } from "react-router";

import { type OrganizationTree, useOrganization, useTree } from "../../api/queries";
import { paths } from "../app/routes";
import { AuditTab } from "../audit/AuditTab";
import { ActionsDropdown } from "../common/actions";
import { Details } from "../common/Details";
import { formatLocation, formatTime } from "../common/format";
import { useAllowed } from "../common/permissions";
import { type PageTab, QueryState, ResourcePage } from "../common/ResourcePage";
import { IamTab } from "../iam/IamTab";
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
  const allowed = useAllowed();
  const alive = entry.nodes.filter((node) => node.alive).length;
  const iam: PageTab = { key: "iam", title: "IAM", content: <IamTab organizationId={organization.id} /> };
  const audit: PageTab = { key: "audit", title: "Audit", content: <AuditTab organizationId={organization.id} /> };
  return (
    <ResourcePage
      kind="Organization"
      title={organization.name}
      actions={actions.length > 0 ? <ActionsDropdown actions={actions} /> : undefined}
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
        ...(allowed("user.list") || allowed("policy.list") ? [iam] : []),
        ...(allowed("audit.read") || allowed("lockout.read") ? [audit] : []),
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
