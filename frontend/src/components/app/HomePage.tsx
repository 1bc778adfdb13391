/** What the right side shows before anything is selected in the tree. */
import { EmptyState, EmptyStateBody, PageSection } from "@patternfly/react-core";
import { SitemapIcon } from "@patternfly/react-icons";

export function HomePage() {
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
