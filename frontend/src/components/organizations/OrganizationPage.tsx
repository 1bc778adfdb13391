/** A organization's page (its summary grows with later changes). */
import { Card, CardBody, CardTitle } from "@patternfly/react-core";
import { useParams } from "react-router";

import { useOrganization } from "../../api/queries";
import { Details } from "../common/Details";
import { QueryState, ResourcePage } from "../common/ResourcePage";

export function OrganizationPage() {
  const { id = "" } = useParams();
  const query = useOrganization(id);
  if (!query.data) return <QueryState error={query.error} isPending={query.isPending} />;
  const item = query.data.organization;
  return (
    <ResourcePage
      kind="Organization"
      title={item.name}
      basePath={`/organizations/${id}`}
      tabs={[
        {
          key: "summary",
          title: "Summary",
          content: (
            <Card>
              <CardTitle>Summary</CardTitle>
              <CardBody>
                <Details
                  items={[
                    ["Name", item.name],
                    ["ID", item.id],
                    ["Description", item.description],
                  ]}
                />
              </CardBody>
            </Card>
          ),
        },
      ]}
    />
  );
}
