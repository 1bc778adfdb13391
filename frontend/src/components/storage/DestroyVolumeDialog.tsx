/**
 * Destroy Volume (seed: "Destroy Volume"): type DESTROY and Confirm. The server refuses a
 * volume that is attached (the row's X is disabled then anyway); otherwise it answers with
 * a task that removes the volume from its pool, and the list drops it on `volume.deleted`.
 */
import { Content } from "@patternfly/react-core";
import { useMutation, useQueryClient } from "@tanstack/react-query";

import { api, unwrap } from "../../api/client";
import { keys, type Volume } from "../../api/queries";
import { TypeToConfirmDialog } from "../common/dialogs";
import { DESTROY_WORD } from "../instances/DestroyInstanceDialog";

export function DestroyVolumeDialog({ volume, onClose }: { volume: Volume; onClose: () => void }) {
  const client = useQueryClient();
  const destroy = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.DELETE("/api/v1/volumes/{volume_id}", {
          params: { path: { volume_id: volume.id }, query: { confirm: DESTROY_WORD } },
        }),
      ),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: keys.volumes });
      void client.invalidateQueries({ queryKey: keys.pools });
      onClose();
    },
  });
  return (
    <TypeToConfirmDialog
      title={`Destroy volume ${volume.name}?`}
      word={DESTROY_WORD}
      isPending={destroy.isPending}
      error={destroy.error}
      onConfirm={() => destroy.mutate()}
      onClose={onClose}
    >
      <Content component="p">
        The volume {volume.name} ({volume.size} GB) and all its data are removed from its storage
        pool. This can&apos;t be undone.
      </Content>
    </TypeToConfirmDialog>
  );
}
