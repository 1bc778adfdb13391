/**
 * Destroy Storage Pool (seed: the X on a pool's card): type DESTROY and Confirm. The
 * server refuses while a node holds volumes in the pool (its message says which); else
 * the pool is marked for destruction and propagation removes it from its nodes, its name
 * staying taken until that is done.
 */
import { Content } from "@patternfly/react-core";

import { api, unwrap } from "../../api/client";
import { type ClusterPool, keys } from "../../api/queries";
import { DestroyDialog } from "../common/dialogs";

export function DestroyPoolDialog({ pool, onClose }: { pool: ClusterPool; onClose: () => void }) {
  return (
    <DestroyDialog
      title={`Destroy storage pool ${pool.name}?`}
      run={async (confirm) =>
        unwrap(
          await api.DELETE("/api/v1/storage_pools/{pool_id}", {
            params: { path: { pool_id: pool.id }, query: { confirm } },
          }),
        )
      }
      invalidate={[keys.pools]}
      onClose={onClose}
    >
      <Content component="p">
        The pool is removed from every node it is enabled on. A pool that still holds volumes
        can&apos;t be destroyed: destroy them first. Until the nodes are cleaned up, the name{" "}
        {pool.name} can&apos;t be used for a new pool.
      </Content>
    </DestroyDialog>
  );
}
