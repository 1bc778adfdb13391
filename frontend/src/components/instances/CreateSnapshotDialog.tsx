/** Create a snapshot: a name (unique per instance) and a description; the server's
 * message appears under the field it names (a taken name, say) or above the form. */
import {
  Alert,
  Button,
  Form,
  FormGroup,
  FormHelperText,
  HelperText,
  HelperTextItem,
  Modal,
  ModalBody,
  ModalFooter,
  ModalHeader,
  TextArea,
  TextInput,
} from "@patternfly/react-core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useId, useState } from "react";

import { api, unwrap } from "../../api/client";
import { ApiError, messageOf } from "../../api/errors";
import { type Instance, keys } from "../../api/queries";
import { errorIdOf, FieldError, validatedBy } from "../common/FieldError";

export function CreateSnapshotDialog({ instance, onClose }: { instance: Instance; onClose: () => void }) {
  const client = useQueryClient();
  const titleId = useId();
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
  const unplaced =
    error && !(error instanceof ApiError && (error.field === "name" || error.field === "description"));
  const submit = (event?: FormEvent) => {
    event?.preventDefault();
    create.mutate();
  };
  return (
    <Modal isOpen variant="small" onClose={onClose} aria-labelledby={titleId}>
      <ModalHeader title={`Create a snapshot of ${instance.name}`} labelId={titleId} />
      <ModalBody>
        <Form id={`${titleId}-form`} onSubmit={submit}>
          {unplaced ? (
            <Alert variant="danger" isInline title="The snapshot was not created">
              {messageOf(error)}
            </Alert>
          ) : null}
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
        </Form>
      </ModalBody>
      <ModalFooter>
        <Button
          variant="primary"
          type="submit"
          form={`${titleId}-form`}
          isLoading={create.isPending}
          isDisabled={create.isPending}
        >
          Create
        </Button>
        <Button variant="link" onClick={onClose}>
          Cancel
        </Button>
      </ModalFooter>
    </Modal>
  );
}
