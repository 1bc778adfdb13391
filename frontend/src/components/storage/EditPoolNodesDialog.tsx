/**
 * Edit Storage Pool (seed: the pencil on a pool's card): the cluster's nodes as checkboxes,
 * those the pool is enabled on checked; Save sends the chosen set, and propagation brings
 * each node to it (defining and starting the pool on a newly chosen node, removing it from
 * one left out, which the server refuses while that node holds volumes in it). Only the
 * node associations can change: a pool's name is fixed at creation.
 */
import {
  Alert,
  Checkbox,
  Content,
  FormGroup,
  FormHelperText,
  HelperText,
  HelperTextItem,
} from "@patternfly/react-core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";

import { api, unwrap } from "../../api/client";
import { type ClusterPool, keys, type Node } from "../../api/queries";
import { EditDialog } from "../common/EditDialog";
import { FieldError } from "../common/FieldError";

interface Props {
  pool: ClusterPool;
  /** The cluster's nodes, the choices. */
  nodes: Node[];
  onClose: () => void;
}

/** The nodes a pool counts as enabled on: a node it is being removed from is not. */
export function enabledNodeIds(pool: ClusterPool): string[] {
  return pool.nodes.filter((n) => n.state !== "removing").map((n) => n.node_id);
}

export function EditPoolNodesDialog({ pool, nodes, onClose }: Props) {
  const client = useQueryClient();
  const groupId = useId();
  const [chosen, setChosen] = useState<Set<string>>(() => new Set(enabledNodeIds(pool)));
  const toggle = (nodeId: string, on: boolean) =>
    setChosen((all) => {
      const next = new Set(all);
      if (on) next.add(nodeId);
      else next.delete(nodeId);
      return next;
    });

  const save = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.PATCH("/api/v1/storage_pools/{pool_id}", {
          params: { path: { pool_id: pool.id } },
          // In the cluster's order, so the request reads as the list did.
          body: { node_ids: nodes.map((n) => n.id).filter((id) => chosen.has(id)) },
        }),
      ),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: keys.pools });
      onClose();
    },
  });

  return (
    <EditDialog
      title={`Edit Storage Pool ${pool.name}`}
      fields={["node_ids"]}
      isPending={save.isPending}
      error={save.error}
      errorTitle="The nodes were not changed"
      submitLabel="Save"
      onSubmit={() => save.mutate()}
      onClose={onClose}
    >
      <Content component="p">
        Choose the nodes this storage pool is enabled on. The change is propagated to the nodes,
        which may take some time.
      </Content>
      <FormGroup role="group" label="Nodes" fieldId={groupId} isStack>
        {nodes.length === 0 ? (
          <Alert variant="info" isInline isPlain title="This cluster has no nodes." />
        ) : (
          nodes.map((node) => (
            <Checkbox
              key={node.id}
              id={`${groupId}-${node.id}`}
              label={node.name}
              description={node.id}
              isChecked={chosen.has(node.id)}
              onChange={(_e, on) => toggle(node.id, on)}
            />
          ))
        )}
        <FormHelperText>
          <HelperText>
            <HelperTextItem>
              A node that holds volumes in this pool can only be left out once they are gone.
            </HelperTextItem>
          </HelperText>
        </FormHelperText>
        <FieldError error={save.error} field="node_ids" />
      </FormGroup>
    </EditDialog>
  );
}
