/**
 * Editing a resource that has only a name and a description (organizations, clusters): the
 * dialog, the changed-fields-only PATCH body and the refresh are the same for each; the
 * resource's dialog says only which endpoint and which queries.
 */
import { type QueryKey, useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { DescriptionField, EditDialog, NameField } from "./EditDialog";

export interface NamedChanges {
  name?: string;
  description?: string;
}

interface Props {
  title: string;
  current: { name: string; description: string };
  /** Sends the changes; only what changed is in them, so a concurrent edit of the other
   * field isn't undone. */
  patch: (changes: NamedChanges) => Promise<unknown>;
  /** What the change makes stale. */
  stale: QueryKey[];
  onClose: () => void;
}

export function EditNameDialog({ title, current, patch, stale, onClose }: Props) {
  const client = useQueryClient();
  const [name, setName] = useState(current.name);
  const [description, setDescription] = useState(current.description);
  const save = useMutation({
    mutationFn: () =>
      patch({
        ...(name !== current.name ? { name } : {}),
        ...(description !== current.description ? { description } : {}),
      }),
    onSuccess: async () => {
      await Promise.all(stale.map((queryKey) => client.invalidateQueries({ queryKey })));
      onClose();
    },
  });
  const edit = (set: (value: string) => void) => (value: string) => {
    set(value);
    save.reset(); // the server's last word was about the old value
  };
  return (
    <EditDialog
      title={title}
      fields={["name", "description"]}
      isPending={save.isPending}
      error={save.error}
      onSubmit={() => {
        if (name === current.name && description === current.description) onClose();
        else save.mutate();
      }}
      onClose={onClose}
    >
      <NameField value={name} onChange={edit(setName)} error={save.error} />
      <DescriptionField value={description} onChange={edit(setDescription)} error={save.error} />
    </EditDialog>
  );
}
