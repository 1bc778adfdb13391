/** Delete one of a node's images, after the user confirms. Instances using it keep their copies. */
import { Content } from "@patternfly/react-core";
import { useMutation, useQueryClient } from "@tanstack/react-query";

import { api, unwrap } from "../../api/client";
import { type Image, keys } from "../../api/queries";
import { ConfirmDialog } from "../common/dialogs";

export function DeleteImageDialog({
  nodeId,
  image,
  onClose,
}: {
  nodeId: string;
  image: Image;
  onClose: () => void;
}) {
  const client = useQueryClient();
  const remove = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.DELETE("/api/v1/nodes/{node_id}/images/images/{name}", {
          // The user confirmed in this dialog; the API takes that as `confirm=DESTROY`.
          params: { path: { node_id: nodeId, name: image.name }, query: { confirm: "DESTROY" } },
        }),
      ),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: keys.nodeImages(nodeId) });
      onClose();
    },
  });
  return (
    <ConfirmDialog
      title={`Delete image ${image.name}?`}
      actionLabel="Delete"
      variant="danger"
      isPending={remove.isPending}
      error={remove.error}
      onConfirm={() => remove.mutate()}
      onClose={onClose}
    >
      <Content component="p">
        The {image.format} image {image.name} ({image.size} MB) is removed from its pool. Instances
        already deployed from it keep their volumes.
      </Content>
    </ConfirmDialog>
  );
}
