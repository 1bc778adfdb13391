/**
 * Where the UI opens: the page of the node this browser is connected to (seed: "Once
 * logged in, you will be directed to the current node's page"). A user who may not see
 * that node (another organization's tenant) gets a pointer to the tree instead.
 */
import { Bullseye, EmptyState, EmptyStateBody, PageSection, Spinner } from "@patternfly/react-core";
import { SitemapIcon } from "@patternfly/react-icons";
import { Navigate } from "react-router";

import { useNode, useServingNode } from "../../api/queries";
import { paths } from "./routes";

export function HomePage() {
  const serving = useServingNode();
  const nodeId = serving.data;
  const node = useNode(nodeId ?? "", nodeId !== undefined);
  if (nodeId !== undefined && node.isSuccess) {
    return <Navigate to={paths.node(nodeId)} replace />;
  }
  if (serving.isPending || (nodeId !== undefined && node.isPending)) {
    return (
      <PageSection isFilled>
        <Bullseye>
          <Spinner aria-label="Loading" />
        </Bullseye>
      </PageSection>
    );
  }
  return (
    <PageSection isFilled>
      <EmptyState titleText="Select a resource" headingLevel="h1" icon={SitemapIcon}>
        <EmptyStateBody>
          Organizations, datacenters, clusters, nodes and instances are in the tree on the left.
          Right-click one for its actions.
        </EmptyStateBody>
      </EmptyState>
    </PageSection>
  );
}
