/**
 * Destroy: the user types DESTROY (sent as `confirm`, so the server checks it too) and may
 * also destroy the attached volumes. The reply is a task; the page then goes to the
 * instance's node, where the instance disappears when the task is done.
 */
import { Checkbox, Content } from "@patternfly/react-core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";

import { api, unwrap } from "../../api/client";
import { type Instance, keys } from "../../api/queries";
import { DESTROY_WORD, TypeToConfirmDialog } from "../common/dialogs";

interface Props {
  instance: Instance;
  onClose: () => void;
  /** Called once the server has accepted the destroy. */
  onDestroyed: () => void;
}

export function DestroyInstanceDialog({ instance, onClose, onDestroyed }: Props) {
  const client = useQueryClient();
  const checkboxId = useId();
  const [withVolumes, setWithVolumes] = useState(false);
  const destroy = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.DELETE("/api/v1/instances/{instance_id}", {
          params: {
            path: { instance_id: instance.id },
            query: { confirm: DESTROY_WORD, destroy_volumes: withVolumes },
          },
        }),
      ),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: keys.instance(instance.id) });
      void client.invalidateQueries({ queryKey: keys.instances });
      onClose();
      onDestroyed();
    },
  });
  return (
    <TypeToConfirmDialog
      title={`Destroy ${instance.name}?`}
      word={DESTROY_WORD}
      isPending={destroy.isPending}
      error={destroy.error}
      onConfirm={() => destroy.mutate()}
      onClose={onClose}
    >
      <Content component="p">
        Destroying an instance is permanent and cannot be undone. All data on the instance will be lost.
      </Content>
      <Checkbox
        id={checkboxId}
        label="Also destroy attached volumes"
        isChecked={withVolumes}
        onChange={(_e, checked) => setWithVolumes(checked)}
      />
    </TypeToConfirmDialog>
  );
}
