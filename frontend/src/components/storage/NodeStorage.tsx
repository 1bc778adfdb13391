/**
 * A node's Storage tab (seed: "List Volumes"): its storage pools with how full each is, and
 * a Volumes tab listing the node's volumes, filtered by the Storage Pool dropdown, with
 * Create Volume, resize and the X to destroy. Both follow `pool.*` and `volume.*` events.
 */
import { Tab, Tabs, TabTitleText } from "@patternfly/react-core";
import { useState } from "react";

import { NodePoolsTable } from "./NodePoolsTable";
import { NodeVolumes } from "./NodeVolumes";

type SubTab = "pools" | "volumes";

export function NodeStorage({ nodeId }: { nodeId: string }) {
  // Which inner tab shows is the page's state, not a URL segment: the page's own tab is
  // the URL's last segment (ResourcePage), and these two are one view of it.
  const [shown, setShown] = useState<SubTab>("pools");
  return (
    <Tabs
      isSubtab
      activeKey={shown}
      onSelect={(_e, key) => setShown(key as SubTab)}
      aria-label="Storage"
      mountOnEnter
    >
      <Tab eventKey="pools" title={<TabTitleText>Storage Pools</TabTitleText>}>
        <div className="pf-v6-u-pt-md">
          <NodePoolsTable nodeId={nodeId} />
        </div>
      </Tab>
      <Tab eventKey="volumes" title={<TabTitleText>Volumes</TabTitleText>}>
        <div className="pf-v6-u-pt-md">
          <NodeVolumes nodeId={nodeId} />
        </div>
      </Tab>
    </Tabs>
  );
}
