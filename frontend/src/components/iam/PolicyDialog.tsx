/**
 * Create policy, Edit policy, and View policy (a built-in one, read-only): Name,
 * Description and the statements table. The server checks every statement and names the
 * one at fault (`statements[3].action`); the dialog stays open with the user's input.
 */
import { Button, FormGroup, Modal, ModalBody, ModalFooter, ModalHeader, TextInput } from "@patternfly/react-core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";

import { api, unwrap } from "../../api/client";
import { ApiError } from "../../api/errors";
import { keys, type Policy, useActionNames } from "../../api/queries";
import { DescriptionField, EditDialog } from "../common/EditDialog";
import { errorIdOf, FieldError, validatedBy } from "../common/FieldError";
import { draftOf, newDraft, rulesProblem, type StatementDraft, StatementsEditor, statementsOf } from "./StatementsEditor";

const FIELDS = ["name", "description", "statements"];

export function PolicyDialog({
  organizationId,
  policy,
  onClose,
}: {
  organizationId: string;
  /** The policy to edit; none to create one. */
  policy?: Policy;
  onClose: () => void;
}) {
  const client = useQueryClient();
  const nameId = useId();
  const actions = useActionNames();
  const [name, setName] = useState(policy?.name ?? "");
  const [description, setDescription] = useState(policy?.description ?? "");
  const [drafts, setDrafts] = useState<StatementDraft[]>(() =>
    policy ? policy.statements.map(draftOf) : [newDraft()],
  );
  const save = useMutation({
    mutationFn: async () => {
      const body = { name, description, statements: statementsOf(drafts) };
      if (policy) {
        return unwrap(
          await api.PATCH("/api/v1/policies/{policy_id}", {
            params: { path: { policy_id: policy.id } },
            body,
          }),
        );
      }
      return unwrap(
        await api.POST("/api/v1/policies", {
          params: { query: { organization_id: organizationId } },
          body,
        }),
      );
    },
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: keys.policies });
      // A changed policy changes what its holders may do, the signed-in user's own too.
      void client.invalidateQueries({ queryKey: keys.me });
      onClose();
    },
  });
  const error = save.error;
  const local = drafts.some((draft) => rulesProblem(draft) !== undefined);
  return (
    <EditDialog
      title={policy ? `Edit policy ${policy.name}` : "Create policy"}
      variant="large"
      fields={FIELDS}
      isPending={save.isPending}
      error={error}
      errorTitle={policy ? "The policy was not saved" : "The policy was not created"}
      onSubmit={() => {
        if (!local) save.mutate();
      }}
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
      <DescriptionField value={description} onChange={setDescription} error={error} />
      <FormGroup label="Statements" role="group" fieldId={`${nameId}-statements`}>
        <StatementsEditor
          drafts={drafts}
          onChange={setDrafts}
          actionNames={(actions.data ?? []).map((info) => info.action)}
          error={error}
        />
        {/* A message about the list as a whole (too many, none); one about a statement's
            field shows in its cell. */}
        {error instanceof ApiError && error.field === "statements" && (
          <FieldError error={error} field="statements" />
        )}
      </FormGroup>
    </EditDialog>
  );
}

/** A built-in policy, read-only: what it allows and denies. */
export function ViewPolicyDialog({ policy, onClose }: { policy: Policy; onClose: () => void }) {
  const titleId = useId();
  const drafts = policy.statements.map(draftOf);
  return (
    <Modal isOpen variant="large" onClose={onClose} aria-labelledby={titleId}>
      <ModalHeader title={`Policy ${policy.name}`} labelId={titleId} description={policy.description} />
      <ModalBody>
        <StatementsEditor drafts={drafts} onChange={() => {}} actionNames={[]} error={null} readOnly />
      </ModalBody>
      <ModalFooter>
        <Button variant="primary" onClick={onClose}>
          Close
        </Button>
      </ModalFooter>
    </Modal>
  );
}
