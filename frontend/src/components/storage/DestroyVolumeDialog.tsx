/**
 * Destroy Volume (seed: "Destroy Volume"): type DESTROY and Confirm. The server refuses a
 * volume that is attached (the row's X is disabled then anyway); otherwise it answers with
 * a task that removes the volume from its pool, and the list drops it on `volume.deleted`.
 */
import { Content } from "@patternfly/react-core";

import { api, unwrap } from "../../api/client";
import { keys, type Volume } from "../../api/queries";
import { DestroyDialog } from "../common/dialogs";

export function DestroyVolumeDialog({ volume, onClose }: { volume: Volume; onClose: () => void }) {
  return (
    <DestroyDialog
      title={`Destroy volume ${volume.name}?`}
      run={async (confirm) =>
        unwrap(
          await api.DELETE("/api/v1/volumes/{volume_id}", {
            params: { path: { volume_id: volume.id }, query: { confirm } },
          }),
        )
      }
      invalidate={[keys.volumes, keys.pools]}
      onClose={onClose}
    >
      <Content component="p">
        The volume {volume.name} ({volume.size} GB) and all its data are removed from its storage
        pool. This can&apos;t be undone.
      </Content>
    </DestroyDialog>
  );
}
