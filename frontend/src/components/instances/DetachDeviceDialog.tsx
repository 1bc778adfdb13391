/**
 * Detach a device (seed: "Detaching a Volume from an Instance"): the user types the
 * requested string and clicks Confirm. A detached volume stays on the node, free for any
 * instance; the reply says whether the running guest loses it only at a restart.
 */
import { Content } from "@patternfly/react-core";
import { useMutation, useQueryClient } from "@tanstack/react-query";

import { api, unwrap } from "../../api/client";
import { type Device, type Instance, keys } from "../../api/queries";
import { DESTROY_WORD, TypeToConfirmDialog } from "../common/dialogs";
import { DEVICE_TYPES } from "./AttachDeviceDialog";

interface Props {
  instance: Instance;
  device: Device;
  onClose: () => void;
  onDetached: (name: string, needsReboot: boolean) => void;
}

export function DetachDeviceDialog({ instance, device, onClose, onDetached }: Props) {
  const client = useQueryClient();
  const detach = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.DELETE("/api/v1/instances/{instance_id}/devices/{name}", {
          params: {
            path: { instance_id: instance.id, name: device.name },
            query: { confirm: DESTROY_WORD },
          },
        }),
      ),
    onSuccess: (reply) => {
      void client.invalidateQueries({ queryKey: keys.instance(instance.id) });
      void client.invalidateQueries({ queryKey: keys.volumes });
      onClose();
      onDetached(device.name, reply.needs_reboot);
    },
  });
  const isVolume = device.type === DEVICE_TYPES.volume;
  return (
    <TypeToConfirmDialog
      title={`Detach ${device.name} from ${instance.name}?`}
      word={DESTROY_WORD}
      isPending={detach.isPending}
      error={detach.error}
      onConfirm={() => detach.mutate()}
      onClose={onClose}
    >
      <Content component="p">
        {isVolume
          ? "Detaching a volume does not delete it: it stays on the node, free to attach to another instance."
          : "The CD-ROM drive and its image are removed from the instance; the image stays on the node."}
      </Content>
    </TypeToConfirmDialog>
  );
}
