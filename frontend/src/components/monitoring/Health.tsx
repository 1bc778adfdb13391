/**
 * A cluster's or a node's health (healthy, degraded, unhealthy, dead, unknown) with the
 * reasons the server gives for anything short of healthy, each something a person can act
 * on ("node-… last seen 2 min ago").
 */
import { List, ListItem, Stack, StackItem } from "@patternfly/react-core";

import { ClusterHealth } from "../clusters/ClusterHealth";

export function HealthStatus({ status, reasons }: { status: string; reasons?: string[] }) {
  return (
    <Stack hasGutter>
      <StackItem>
        <ClusterHealth status={status} />
      </StackItem>
      {reasons && reasons.length > 0 ? (
        <StackItem>
          <List aria-label="Health reasons" isPlain>
            {reasons.map((reason) => (
              <ListItem key={reason}>{reason}</ListItem>
            ))}
          </List>
        </StackItem>
      ) : null}
    </Stack>
  );
}
