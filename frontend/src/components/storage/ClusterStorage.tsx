/**
 * A cluster's Storage tab (seed: "List Storage Pools"): Create Pool, and a card per
 * storage pool with its status icon, the pencil to choose its nodes and the X to destroy
 * it. The pools follow `pool.*` events, so a status turns green (or red) as propagation
 * reaches the nodes, without a reload.
 */
import {
  Button,
  EmptyState,
  EmptyStateBody,
  Gallery,
  Stack,
  StackItem,
  Toolbar,
  ToolbarContent,
  ToolbarItem,
} from "@patternfly/react-core";

import { type ClusterPool, type Node, useClusterPools } from "../../api/queries";
import { useDialogs } from "../common/DialogHost";
import { useAllowed } from "../common/permissions";
import { QueryState } from "../common/ResourcePage";
import { CreatePoolDialog } from "./CreatePoolDialog";
import { DestroyPoolDialog } from "./DestroyPoolDialog";
import { EditPoolNodesDialog } from "./EditPoolNodesDialog";
import { PoolCard } from "./PoolCard";

export function ClusterStorage({ clusterId, nodes }: { clusterId: string; nodes: Node[] }) {
  const dialogs = useDialogs();
  const allowed = useAllowed();
  const pools = useClusterPools(clusterId);
  const names = new Map(nodes.map((n) => [n.id, n.name]));
  const nodeName = (id: string) => names.get(id) ?? id;

  const create = () => dialogs.open((close) => <CreatePoolDialog clusterId={clusterId} onClose={close} />);
  const edit = (pool: ClusterPool) =>
    dialogs.open((close) => <EditPoolNodesDialog pool={pool} nodes={nodes} onClose={close} />);
  const destroy = (pool: ClusterPool) =>
    dialogs.open((close) => <DestroyPoolDialog pool={pool} onClose={close} />);

  return (
    <Stack hasGutter>
      {allowed("pool.create") && (
        <StackItem>
          <Toolbar>
            <ToolbarContent>
              <ToolbarItem>
                <Button variant="primary" onClick={create}>
                  Create Pool
                </Button>
              </ToolbarItem>
            </ToolbarContent>
          </Toolbar>
        </StackItem>
      )}
      <StackItem>
        {!pools.data ? (
          <QueryState error={pools.error} isPending={pools.isPending} />
        ) : pools.data.length === 0 ? (
          <EmptyState titleText="No storage pools" headingLevel="h4">
            <EmptyStateBody>This cluster has no storage pool yet.</EmptyStateBody>
          </EmptyState>
        ) : (
          <Gallery hasGutter minWidths={{ default: "100%", lg: "420px" }}>
            {pools.data.map((pool) => (
              <PoolCard
                key={pool.id}
                pool={pool}
                nodeName={nodeName}
                onEdit={allowed("pool.update") ? () => edit(pool) : undefined}
                onDestroy={allowed("pool.delete") ? () => destroy(pool) : undefined}
              />
            ))}
          </Gallery>
        )}
      </StackItem>
    </Stack>
  );
}
