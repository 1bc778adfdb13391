/** A datacenter's page (its summary grows with later changes). */
import { Card, CardBody, CardTitle } from "@patternfly/react-core";
import { useParams } from "react-router";

import { useDatacenter } from "../../api/queries";
import { Details } from "../common/Details";
import { QueryState, ResourcePage } from "../common/ResourcePage";

export function DatacenterPage() {
  const { id = "" } = useParams();
  const query = useDatacenter(id);
  if (!query.data) return <QueryState error={query.error} isPending={query.isPending} />;
  const item = query.data.datacenter;
  return (
    <ResourcePage
      kind="Datacenter"
      title={item.name}
      basePath={`/datacenters/${id}`}
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
