/** Revert to a snapshot and delete one, each confirmed ("Confirm"); a refusal keeps the
 * dialog open with the server's reason. */
import { Content } from "@patternfly/react-core";
import { useMutation, useQueryClient } from "@tanstack/react-query";

import { api, unwrap } from "../../api/client";
import { type Instance, keys, type Snapshot } from "../../api/queries";
import { ConfirmDialog } from "../common/dialogs";

interface Props {
  instance: Instance;
  snapshot: Snapshot;
  onClose: () => void;
}

export function RevertSnapshotDialog({ instance, snapshot, onClose }: Props) {
  const client = useQueryClient();
  const revert = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST("/api/v1/instances/{instance_id}/snapshots/{name}/revert", {
          params: { path: { instance_id: instance.id, name: snapshot.name } },
        }),
      ),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: keys.instance(instance.id) });
      void client.invalidateQueries({ queryKey: keys.instances });
      onClose();
    },
  });
  return (
    <ConfirmDialog
      title={`Revert ${instance.name} to ${snapshot.name}?`}
      variant="danger"
      isPending={revert.isPending}
      error={revert.error}
      onConfirm={() => revert.mutate()}
      onClose={onClose}
    >
      <Content component="p">
        The instance's disks go back to this snapshot, and so does its power state. Changes made since the
        snapshot are lost.
      </Content>
    </ConfirmDialog>
  );
}

export function DeleteSnapshotDialog({ instance, snapshot, onClose }: Props) {
  const client = useQueryClient();
  const remove = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.DELETE("/api/v1/instances/{instance_id}/snapshots/{name}", {
          params: { path: { instance_id: instance.id, name: snapshot.name } },
        }),
      ),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: keys.instance(instance.id) });
      onClose();
    },
  });
  return (
    <ConfirmDialog
      title={`Delete snapshot ${snapshot.name}?`}
      variant="danger"
      isPending={remove.isPending}
      error={remove.error}
      onConfirm={() => remove.mutate()}
      onClose={onClose}
    >
      <Content component="p">The snapshot is removed; the instance as it is now stays unchanged.</Content>
    </ConfirmDialog>
  );
}
