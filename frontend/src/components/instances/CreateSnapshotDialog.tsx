/** Create a snapshot: a name (unique per instance) and a description; the server's
 * message appears under the field it names (a taken name, say) or above the form. */
import {
  FormGroup,
  FormHelperText,
  HelperText,
  HelperTextItem,
  TextArea,
  TextInput,
} from "@patternfly/react-core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";

import { api, unwrap } from "../../api/client";
import { type Instance, keys } from "../../api/queries";
import { EditDialog } from "../common/EditDialog";
import { errorIdOf, FieldError, validatedBy } from "../common/FieldError";

export function CreateSnapshotDialog({ instance, onClose }: { instance: Instance; onClose: () => void }) {
  const client = useQueryClient();
  const nameId = useId();
  const descriptionId = useId();
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const create = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST("/api/v1/instances/{instance_id}/snapshots", {
          params: { path: { instance_id: instance.id } },
          body: { name, description },
        }),
      ),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: keys.instance(instance.id) });
      onClose();
    },
  });
  const error = create.error;
  return (
    <EditDialog
      title={`Create a snapshot of ${instance.name}`}
      fields={["name", "description"]}
      isPending={create.isPending}
      error={error}
      errorTitle="The snapshot was not created"
      onSubmit={() => create.mutate()}
      onClose={onClose}
      submitLabel="Create"
    >
      <FormGroup label="Name" isRequired fieldId={nameId}>
        <TextInput
          id={nameId}
          aria-describedby={errorIdOf(nameId)}
          value={name}
          onChange={(_e, v) => setName(v)}
          validated={validatedBy(error, "name")}
          isRequired
        />
        <FormHelperText>
          <HelperText>
            <HelperTextItem>Letters, digits, '_', '.' or '-'; unique for this instance.</HelperTextItem>
          </HelperText>
        </FormHelperText>
        <FieldError error={error} field="name" controlId={nameId} />
      </FormGroup>
      <FormGroup label="Description" fieldId={descriptionId}>
        <TextArea
          id={descriptionId}
          aria-describedby={errorIdOf(descriptionId)}
          value={description}
          onChange={(_e, v) => setDescription(v)}
          validated={validatedBy(error, "description")}
          resizeOrientation="vertical"
        />
        <FieldError error={error} field="description" controlId={descriptionId} />
      </FormGroup>
    </EditDialog>
  );
}
