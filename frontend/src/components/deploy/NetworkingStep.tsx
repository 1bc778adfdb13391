/**
 * The seed's "Configure networking for connectivity if required". Instances get networks
 * from virtual switches, which this platform version does not have yet, so the step says
 * so instead of offering choices the API would refuse (it accepts only `networks: []`).
 */
import { EmptyState, EmptyStateBody } from "@patternfly/react-core";
import { NetworkIcon } from "@patternfly/react-icons";

export function NetworkingStep() {
  return (
    <EmptyState titleText="No networks to configure" headingLevel="h3" icon={NetworkIcon}>
      <EmptyStateBody>
        Networks come with virtual switches (vSwitches), which this version of the platform
        does not provide yet. The instance is deployed without a network interface; its
        screen and serial console are reached from its Console tab.
      </EmptyStateBody>
    </EmptyState>
  );
}
