/**
 * A cluster pool's status as the seed draws it: a grey dash (enabled on no node), a green
 * check (available on every enabled node), a red X (propagation failed somewhere: the
 * icon opens the nodes' errors, "node-…: volume group vg0 not found"), and a spinner while
 * propagation is under way or the pool is being destroyed. Each icon is named by what it
 * means (an SVG title: a tooltip for the eye, the accessible name for a screen reader).
 */
import { Button, Icon, List, ListItem, Popover, Spinner } from "@patternfly/react-core";
import { CheckCircleIcon, MinusIcon, TimesCircleIcon } from "@patternfly/react-icons";

import type { ClusterPool } from "../../api/queries";

export const POOL_STATUS_TITLES: Record<string, string> = {
  none: "Not enabled on any node",
  ok: "Available on every enabled node",
  error: "Propagation failed",
  pending: "Propagating to its nodes",
  destroying: "Being destroyed",
};

export function poolStatusTitle(status: string): string {
  return POOL_STATUS_TITLES[status] ?? status;
}

export function PoolStatusIcon({
  pool,
  nodeName,
}: {
  pool: ClusterPool;
  nodeName: (id: string) => string;
}) {
  const title = poolStatusTitle(pool.status);
  switch (pool.status) {
    case "none":
      return (
        <Icon className="ce-pool-status-none">
          <MinusIcon title={title} />
        </Icon>
      );
    case "ok":
      return (
        <Icon status="success">
          <CheckCircleIcon title={title} />
        </Icon>
      );
    case "error": {
      const failed = pool.nodes.filter((n) => n.state === "error" || n.error);
      return (
        <Popover
          headerContent={`${pool.name}: ${title}`}
          bodyContent={
            failed.length === 0 ? (
              "No node reported a reason."
            ) : (
              <List isPlain>
                {failed.map((n) => (
                  <ListItem key={n.node_id}>
                    <strong>{nodeName(n.node_id)}</strong>: {n.error || n.state}
                  </ListItem>
                ))}
              </List>
            )
          }
        >
          <Button
            variant="plain"
            aria-label={`${title}: show why`}
            icon={
              <Icon status="danger">
                <TimesCircleIcon />
              </Icon>
            }
          />
        </Popover>
      );
    }
    default:
      return (
        <span title={title}>
          <Spinner size="md" aria-label={title} />
        </span>
      );
  }
}
