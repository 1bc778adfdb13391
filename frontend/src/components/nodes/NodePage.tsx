/** A node's page (its summary grows with later changes). */
import { Card, CardBody, CardTitle } from "@patternfly/react-core";
import { useParams } from "react-router";

import { useNode } from "../../api/queries";
import { Details } from "../common/Details";
import { QueryState, ResourcePage } from "../common/ResourcePage";

export function NodePage() {
  const { id = "" } = useParams();
  const query = useNode(id);
  if (!query.data) return <QueryState error={query.error} isPending={query.isPending} />;
  const item = query.data.node;
  return (
    <ResourcePage
      kind="Node"
      title={item.name}
      basePath={`/nodes/${id}`}
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
