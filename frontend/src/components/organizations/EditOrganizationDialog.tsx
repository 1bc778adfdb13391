/** Edit an organization's name and description (seed: "Editing an Organization"). */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { api, unwrap } from "../../api/client";
import { keys, type Organization } from "../../api/queries";
import { DescriptionField, EditDialog, NameField } from "../common/EditDialog";

export function EditOrganizationDialog({
  organization,
  onClose,
}: {
  organization: Organization;
  onClose: () => void;
}) {
  const client = useQueryClient();
  const [name, setName] = useState(organization.name);
  const [description, setDescription] = useState(organization.description);
  const save = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.PATCH("/api/v1/organizations/{organization_id}", {
          params: { path: { organization_id: organization.id } },
          // Only what changed, so a concurrent edit of the other field isn't undone.
          body: {
            ...(name !== organization.name ? { name } : {}),
            ...(description !== organization.description ? { description } : {}),
          },
        }),
      ),
    onSuccess: async () => {
      await Promise.all([
        client.invalidateQueries({ queryKey: keys.organization(organization.id) }),
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
      title={`Edit organization ${organization.name}`}
      fields={["name", "description"]}
      isPending={save.isPending}
      error={save.error}
      onSubmit={() => {
        if (name === organization.name && description === organization.description) onClose();
        else save.mutate();
      }}
      onClose={onClose}
    >
      <NameField value={name} onChange={edit(setName)} error={save.error} />
      <DescriptionField value={description} onChange={edit(setDescription)} error={save.error} />
    </EditDialog>
  );
}
