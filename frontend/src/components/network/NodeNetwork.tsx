/**
 * A node's Network tab (seed: "Network Management"): its vSwitches, its port groups (the
 * Ports tab) and its NICs. All three follow the network events (`nic.updated`,
 * `vswitch.*`, `port_group.*`, `network.synced`).
 */
import { Tab, Tabs, TabTitleText } from "@patternfly/react-core";
import { useState } from "react";

import { NodeNics } from "./NodeNics";
import { NodePortGroups } from "./NodePortGroups";
import { NodeVSwitches } from "./NodeVSwitches";

type SubTab = "vswitches" | "ports" | "nics";

export function NodeNetwork({ nodeId }: { nodeId: string }) {
  // As the Storage tab: the inner tab is the page's state; the URL names the Network tab.
  const [shown, setShown] = useState<SubTab>("vswitches");
  return (
    <Tabs
      isSubtab
      activeKey={shown}
      onSelect={(_e, key) => setShown(key as SubTab)}
      aria-label="Network"
      mountOnEnter
    >
      <Tab eventKey="vswitches" title={<TabTitleText>vSwitches</TabTitleText>}>
        <div className="pf-v6-u-pt-md">
          <NodeVSwitches nodeId={nodeId} />
        </div>
      </Tab>
      <Tab eventKey="ports" title={<TabTitleText>Ports</TabTitleText>}>
        <div className="pf-v6-u-pt-md">
          <NodePortGroups nodeId={nodeId} />
        </div>
      </Tab>
      <Tab eventKey="nics" title={<TabTitleText>NICs</TabTitleText>}>
        <div className="pf-v6-u-pt-md">
          <NodeNics nodeId={nodeId} />
        </div>
      </Tab>
    </Tabs>
  );
}
