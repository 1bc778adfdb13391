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
  TextInput,
} from "@patternfly/react-core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";

import { api, unwrap } from "../../api/client";
import { keys } from "../../api/queries";
import { DescriptionField, EditDialog, TextField } from "../common/EditDialog";
import { EnableSwitch } from "./EnableSwitch";
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
  const ids = { org: useId(), kind: useId() };
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
      <TextField
        label="Username"
        field="username"
        value={username}
        onChange={setUsername}
        error={error}
        isRequired
      />
      <TextField
        label="Linux User (Optional)"
        field="linux_user"
        value={linuxUser}
        onChange={setLinuxUser}
        error={error}
      />
      <DescriptionField value={description} onChange={setDescription} error={error} />
      <EnableSwitch value={enabled} onChange={setEnabled} error={error} />
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
