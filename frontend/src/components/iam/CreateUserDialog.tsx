/**
 * + Create User (seed: "Creating a User"): Organization ID prefilled and read-only,
 * Username, Linux User (Optional), Description, the Enable toggle, local or external,
 * Expiry Date (Optional); for a local user its password (typed, or generated and shown
 * once); the policies it holds; Confirm.
 */
import {
  Button,
  FormGroup,
  Modal,
  ModalBody,
  ModalFooter,
  ModalHeader,
  Radio,
  Switch,
  TextArea,
  TextInput,
} from "@patternfly/react-core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";

import { api, unwrap } from "../../api/client";
import { keys } from "../../api/queries";
import { EditDialog } from "../common/EditDialog";
import { errorIdOf, FieldError, validatedBy } from "../common/FieldError";
import { ExpiryField, expiryOf } from "./ExpiryField";
import { INITIAL_PASSWORD, passwordBody, type PasswordChoice, PasswordFields } from "./PasswordFields";
import { PolicyChecklist } from "./PolicyChecklist";
import { SecretShownOnce } from "./SecretShownOnce";

const FIELDS = [
  "organization_id",
  "username",
  "linux_user",
  "description",
  "enabled",
  "external",
  "expiry",
  "password",
  "random_password",
  "temporary",
  "policy_ids",
];

interface Created {
  id: string;
  username: string;
  /** The generated password, when the server made one. */
  password?: string | null;
}

export function CreateUserDialog({
  organizationId,
  onClose,
}: {
  organizationId: string;
  onClose: () => void;
}) {
  const client = useQueryClient();
  const ids = { org: useId(), username: useId(), linux: useId(), description: useId(), enabled: useId(), kind: useId() };
  const [username, setUsername] = useState("");
  const [linuxUser, setLinuxUser] = useState("");
  const [description, setDescription] = useState("");
  const [enabled, setEnabled] = useState(true);
  const [external, setExternal] = useState(false);
  const [expiry, setExpiry] = useState("");
  const [password, setPassword] = useState<PasswordChoice>(INITIAL_PASSWORD);
  const [policyIds, setPolicyIds] = useState<string[]>([]);
  const [created, setCreated] = useState<Created | null>(null);

  const save = useMutation({
    mutationFn: async (): Promise<Created> => {
      const answer = unwrap(
        await api.POST("/api/v1/users", {
          body: {
            organization_id: organizationId,
            username,
            description,
            enabled,
            external,
            expiry: expiryOf(expiry),
            linux_user: linuxUser || null,
            policy_ids: policyIds,
            ...(external ? { random_password: false } : passwordBody(password)),
          },
        }),
      );
      return { id: answer.id, username, password: answer.password };
    },
    onSuccess: (user) => {
      void client.invalidateQueries({ queryKey: keys.users });
      void client.invalidateQueries({ queryKey: keys.policies }); // their holder counts
      if (user.password) setCreated(user);
      else onClose();
    },
  });
  const error = save.error;

  if (created?.password) {
    return <PasswordShown username={created.username} password={created.password} onClose={onClose} />;
  }

  return (
    <EditDialog
      title="Create User"
      variant="medium"
      fields={FIELDS}
      isPending={save.isPending}
      error={error}
      errorTitle="The user was not created"
      onSubmit={() => save.mutate()}
      onClose={onClose}
    >
      <FormGroup label="Organization ID" fieldId={ids.org}>
        <TextInput id={ids.org} value={organizationId} readOnlyVariant="default" />
      </FormGroup>
      <FormGroup label="Username" isRequired fieldId={ids.username}>
        <TextInput
          id={ids.username}
          value={username}
          onChange={(_e, v) => setUsername(v)}
          validated={validatedBy(error, "username")}
          aria-describedby={errorIdOf(ids.username)}
          autoComplete="off"
          isRequired
        />
        <FieldError error={error} field="username" controlId={ids.username} />
      </FormGroup>
      <FormGroup label="Linux User (Optional)" fieldId={ids.linux}>
        <TextInput
          id={ids.linux}
          value={linuxUser}
          onChange={(_e, v) => setLinuxUser(v)}
          validated={validatedBy(error, "linux_user")}
          aria-describedby={errorIdOf(ids.linux)}
          autoComplete="off"
        />
        <FieldError error={error} field="linux_user" controlId={ids.linux} />
      </FormGroup>
      <FormGroup label="Description" fieldId={ids.description}>
        <TextArea
          id={ids.description}
          value={description}
          onChange={(_e, v) => setDescription(v)}
          validated={validatedBy(error, "description")}
          aria-describedby={errorIdOf(ids.description)}
          resizeOrientation="vertical"
          rows={2}
        />
        <FieldError error={error} field="description" controlId={ids.description} />
      </FormGroup>
      <FormGroup fieldId={ids.enabled}>
        <Switch
          id={ids.enabled}
          label="Enable"
          isChecked={enabled}
          onChange={(_e, checked) => setEnabled(checked)}
        />
      </FormGroup>
      <FormGroup role="radiogroup" label="Account" fieldId={ids.kind} isInline>
        <Radio
          id={`${ids.kind}-local`}
          name={ids.kind}
          label="Local"
          isChecked={!external}
          onChange={() => setExternal(false)}
        />
        <Radio
          id={`${ids.kind}-external`}
          name={ids.kind}
          label="External"
          description="Signs in through the organization's identity provider; no local password."
          isChecked={external}
          onChange={() => setExternal(true)}
        />
      </FormGroup>
      <ExpiryField value={expiry} onChange={setExpiry} error={error} />
      {!external && <PasswordFields value={password} onChange={setPassword} error={error} />}
      <PolicyChecklist organizationId={organizationId} value={policyIds} onChange={setPolicyIds} error={error} />
    </EditDialog>
  );
}

/** After creating a user with a generated password: the password, once. */
export function PasswordShown({
  username,
  password,
  onClose,
}: {
  username: string;
  password: string;
  onClose: () => void;
}) {
  const titleId = useId();
  return (
    <Modal isOpen variant="small" onClose={onClose} aria-labelledby={titleId}>
      <ModalHeader title={`Password of ${username}`} labelId={titleId} />
      <ModalBody>
        <SecretShownOnce title="Copy the password now and give it to the user" label="Password" value={password} />
      </ModalBody>
      <ModalFooter>
        <Button variant="primary" onClick={onClose}>
          Close
        </Button>
      </ModalFooter>
    </Modal>
  );
}
