/**
 * One storage pool of a cluster, as a card of the cluster's Storage tab: its status icon
 * and name, type, what it is configured with (never its secrets: the API doesn't send
 * them), the nodes it is enabled on with each node's state, and the seed's pencil (choose
 * the enabled nodes) and X (destroy it).
 */
import {
  Card,
  CardBody,
  CardHeader,
  CardTitle,
  Flex,
  FlexItem,
  Label,
  LabelGroup,
  Tooltip,
} from "@patternfly/react-core";
import { PencilAltIcon, TimesIcon } from "@patternfly/react-icons";

import type { ClusterPool } from "../../api/queries";
import { Details } from "../common/Details";
import { formatTime } from "../common/format";
import { IconAction } from "../common/IconAction";
import { PoolStatusIcon } from "./PoolStatusIcon";
import { configSummary } from "./poolConfig";
import { poolTypeTitle } from "./poolTypes";

const NODE_STATES: Record<string, { color: "green" | "red" | "blue" | "orange"; title: string }> = {
  ready: { color: "green", title: "Ready" },
  error: { color: "red", title: "Error" },
  pending: { color: "blue", title: "Pending" },
  removing: { color: "orange", title: "Removing" },
};

interface Props {
  pool: ClusterPool;
  nodeName: (id: string) => string;
  /** Absent when no policy of the user allows it. */
  onEdit?: () => void;
  onDestroy?: () => void;
}

export function PoolCard({ pool, nodeName, onEdit, onDestroy }: Props) {
  const destroying = pool.status === "destroying";
  const refusal = destroying ? "It is being destroyed." : undefined;
  return (
    <Card isFullHeight aria-label={`Storage pool ${pool.name}`} component="article">
      <CardHeader
        actions={{
          hasNoOffset: true,
          actions: (
            <>
              {onEdit && (
                <IconAction
                  label={`Edit ${pool.name}`}
                  icon={<PencilAltIcon />}
                  refusal={refusal}
                  onClick={onEdit}
                />
              )}
              {onDestroy && (
                <IconAction
                  label={`Destroy ${pool.name}`}
                  icon={<TimesIcon />}
                  refusal={refusal}
                  onClick={onDestroy}
                  isDanger
                />
              )}
            </>
          ),
        }}
      >
        <Flex spaceItems={{ default: "spaceItemsSm" }} alignItems={{ default: "alignItemsCenter" }}>
          <FlexItem>
            <PoolStatusIcon pool={pool} nodeName={nodeName} />
          </FlexItem>
          <FlexItem>
            <CardTitle component="h3">{pool.name}</CardTitle>
          </FlexItem>
          {pool.is_default && (
            <FlexItem>
              <Label isCompact color="blue">
                Default
              </Label>
            </FlexItem>
          )}
        </Flex>
      </CardHeader>
      <CardBody>
        <Details
          items={[
            ["Type", poolTypeTitle(pool.type)],
            ...configSummary(pool.type, pool.config),
            ["Description", pool.description || "—"],
            ["Images", pool.can_hold_images ? "Can hold images" : "No images"],
            ["Nodes", <EnabledNodes key="nodes" pool={pool} nodeName={nodeName} />],
            ["ID", pool.id],
            ["Created", formatTime(pool.creation)],
          ]}
        />
      </CardBody>
    </Card>
  );
}

function EnabledNodes({ pool, nodeName }: { pool: ClusterPool; nodeName: (id: string) => string }) {
  if (pool.nodes.length === 0) return <>Not enabled on any node</>;
  return (
    <LabelGroup numLabels={5} aria-label={`Nodes of ${pool.name}`}>
      {pool.nodes.map((node) => {
        const state = NODE_STATES[node.state] ?? { color: "blue" as const, title: node.state };
        const label = (
          <Label key={node.node_id} isCompact color={state.color}>
            {`${nodeName(node.node_id)}: ${state.title}`}
          </Label>
        );
        return node.error ? (
          <Tooltip key={node.node_id} content={node.error}>
            {label}
          </Tooltip>
        ) : (
          label
        );
      })}
    </LabelGroup>
  );
}
