/** Edit a cluster's name and description (seed: "Editing a Cluster"; PATCH takes ClusterUpdate). */
import { api, unwrap } from "../../api/client";
import { type Cluster, keys } from "../../api/queries";
import { EditNameDialog } from "../common/EditNameDialog";

export function EditClusterDialog({ cluster, onClose }: { cluster: Cluster; onClose: () => void }) {
  return (
    <EditNameDialog
      title={`Edit cluster ${cluster.name}`}
      current={cluster}
      patch={async (body) =>
        unwrap(
          await api.PATCH("/api/v1/clusters/{cluster_id}", {
            params: { path: { cluster_id: cluster.id } },
            body,
          }),
        )
      }
      stale={[keys.cluster(cluster.id), keys.datacenter(cluster.datacenter_id), keys.tree]}
      onClose={onClose}
    />
  );
}
