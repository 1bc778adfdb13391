/** Create token: a name and an optional expiry; the token itself is shown once, after. */
import { Button, FormGroup, Modal, ModalBody, ModalFooter, ModalHeader, TextInput } from "@patternfly/react-core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";

import { api, unwrap } from "../../api/client";
import { keys } from "../../api/queries";
import { EditDialog } from "../common/EditDialog";
import { errorIdOf, FieldError, validatedBy } from "../common/FieldError";
import { ExpiryField, expiryOf } from "./ExpiryField";
import { SecretShownOnce } from "./SecretShownOnce";

export function CreateTokenDialog({
  user,
  onClose,
}: {
  user: { id: string; username: string };
  onClose: () => void;
}) {
  const client = useQueryClient();
  const nameId = useId();
  const titleId = useId();
  const [name, setName] = useState("");
  const [expiry, setExpiry] = useState("");
  const create = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST("/api/v1/users/{user_id}/tokens", {
          params: { path: { user_id: user.id } },
          body: { name, expiry: expiryOf(expiry) },
        }),
      ),
    onSuccess: () => client.invalidateQueries({ queryKey: keys.userTokens(user.id) }),
  });
  if (create.data) {
    return (
      <Modal isOpen variant="small" onClose={onClose} aria-labelledby={titleId}>
        <ModalHeader title={`Token ${name}`} labelId={titleId} />
        <ModalBody>
          <SecretShownOnce title="Copy the token now" label="Token" value={create.data.token} />
        </ModalBody>
        <ModalFooter>
          <Button variant="primary" onClick={onClose}>
            Close
          </Button>
        </ModalFooter>
      </Modal>
    );
  }
  const error = create.error;
  return (
    <EditDialog
      title="Create token"
      fields={["name", "expiry"]}
      isPending={create.isPending}
      error={error}
      errorTitle="The token was not created"
      submitLabel="Create"
      onSubmit={() => create.mutate()}
      onClose={onClose}
    >
      <FormGroup label="Name" isRequired fieldId={nameId}>
        <TextInput
          id={nameId}
          value={name}
          onChange={(_e, v) => setName(v)}
          validated={validatedBy(error, "name")}
          aria-describedby={errorIdOf(nameId)}
          autoComplete="off"
          isRequired
        />
        <FieldError error={error} field="name" controlId={nameId} />
      </FormGroup>
      <ExpiryField value={expiry} onChange={setExpiry} error={error} />
    </EditDialog>
  );
}
