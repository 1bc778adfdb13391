/** Edit a cluster's name and description (seed: "Editing a Cluster"; PATCH takes ClusterUpdate). */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { api, unwrap } from "../../api/client";
import { type Cluster, keys } from "../../api/queries";
import { DescriptionField, EditDialog, NameField } from "../common/EditDialog";

export function EditClusterDialog({ cluster, onClose }: { cluster: Cluster; onClose: () => void }) {
  const client = useQueryClient();
  const [name, setName] = useState(cluster.name);
  const [description, setDescription] = useState(cluster.description);
  const save = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.PATCH("/api/v1/clusters/{cluster_id}", {
          params: { path: { cluster_id: cluster.id } },
          // Only what changed, so a concurrent edit of the other field isn't undone.
          body: {
            ...(name !== cluster.name ? { name } : {}),
            ...(description !== cluster.description ? { description } : {}),
          },
        }),
      ),
    onSuccess: async () => {
      await Promise.all([
        client.invalidateQueries({ queryKey: keys.cluster(cluster.id) }),
        client.invalidateQueries({ queryKey: keys.datacenter(cluster.datacenter_id) }),
        client.invalidateQueries({ queryKey: keys.tree }),
      ]);
      onClose();
    },
  });
  const edit = (set: (value: string) => void) => (value: string) => {
    set(value);
    save.reset(); // the server's last word was about the old value
  };
  return (
    <EditDialog
      title={`Edit cluster ${cluster.name}`}
      fields={["name", "description"]}
      isPending={save.isPending}
      error={save.error}
      onSubmit={() => {
        if (name === cluster.name && description === cluster.description) onClose();
        else save.mutate();
      }}
      onClose={onClose}
    >
      <NameField value={name} onChange={edit(setName)} error={save.error} />
      <DescriptionField value={description} onChange={edit(setDescription)} error={save.error} />
    </EditDialog>
  );
}
