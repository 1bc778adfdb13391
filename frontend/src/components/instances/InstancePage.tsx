/** A instance's page (its summary grows with later changes). */
import { Card, CardBody, CardTitle } from "@patternfly/react-core";
import { useParams } from "react-router";

import { useInstance } from "../../api/queries";
import { Details } from "../common/Details";
import { InstanceConsole } from "../consoles/InstanceConsole";
import { QueryState, ResourcePage } from "../common/ResourcePage";

export function InstancePage() {
  const { id = "" } = useParams();
  const query = useInstance(id);
  if (!query.data) return <QueryState error={query.error} isPending={query.isPending} />;
  const item = query.data.instance;
  return (
    <ResourcePage
      kind="Instance"
      title={item.name}
      basePath={`/instances/${id}`}
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
        { key: "console", title: "Console", content: <InstanceConsole instance={item} /> },
      ]}
    />
  );
}
