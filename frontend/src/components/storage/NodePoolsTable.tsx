/**
 * The storage pools enabled on a node, each with its type, whether the node has it
 * running, how many volumes it holds there and a usage bar (allocated of capacity, in GB,
 * as `GET /nodes/{id}/storage/pools` reports them).
 */
import {
  EmptyState,
  EmptyStateBody,
  Label,
  Progress,
  ProgressMeasureLocation,
  ProgressSize,
  ProgressVariant,
} from "@patternfly/react-core";
import { Table, Tbody, Td, Th, Thead, Tr } from "@patternfly/react-table";

import { type NodePool, useNodePools } from "../../api/queries";
import { QueryState } from "../common/ResourcePage";
import { poolTypeTitle } from "./poolTypes";

/** Above these shares of capacity the bar turns amber, then red: room is running out. */
const WARN_PERCENT = 80;
const DANGER_PERCENT = 90;

export function NodePoolsTable({ nodeId }: { nodeId: string }) {
  const pools = useNodePools(nodeId);
  if (!pools.data) return <QueryState error={pools.error} isPending={pools.isPending} />;
  if (pools.data.length === 0) {
    return (
      <EmptyState titleText="No storage pools" headingLevel="h4">
        <EmptyStateBody>
          No storage pool is enabled on this node. Enable one from its cluster&apos;s Storage tab.
        </EmptyStateBody>
      </EmptyState>
    );
  }
  return (
    <Table aria-label="Storage Pools" variant="compact">
      <Thead>
        <Tr>
          <Th>Name</Th>
          <Th>Type</Th>
          <Th>State</Th>
          <Th>Volumes</Th>
          <Th width={40}>Usage</Th>
        </Tr>
      </Thead>
      <Tbody>
        {pools.data.map((pool) => (
          <Tr key={pool.id}>
            <Td dataLabel="Name">{pool.name}</Td>
            <Td dataLabel="Type">{poolTypeTitle(pool.type)}</Td>
            <Td dataLabel="State">
              <PoolState pool={pool} />
            </Td>
            <Td dataLabel="Volumes">{pool.volume_count}</Td>
            <Td dataLabel="Usage">
              <UsageBar pool={pool} />
            </Td>
          </Tr>
        ))}
      </Tbody>
    </Table>
  );
}

function PoolState({ pool }: { pool: NodePool }) {
  if (pool.available) return <Label color="green" isCompact>Available</Label>;
  if (!pool.initialized) return <Label color="blue" isCompact>Not initialized</Label>;
  return <Label color="red" isCompact>Unavailable</Label>;
}

export function UsageBar({ pool }: { pool: NodePool }) {
  const { usage } = pool;
  const percent = Math.min(100, Math.max(0, usage.percent_used));
  const variant =
    percent >= DANGER_PERCENT
      ? ProgressVariant.danger
      : percent >= WARN_PERCENT
        ? ProgressVariant.warning
        : undefined;
  return (
    <Progress
      value={percent}
      size={ProgressSize.sm}
      variant={variant}
      measureLocation={ProgressMeasureLocation.outside}
      label={`${usage.allocated} of ${usage.capacity} GB`}
      valueText={`${usage.allocated} of ${usage.capacity} GB used, ${usage.available} GB free`}
      aria-label={`Usage of ${pool.name}`}
    />
  );
}
