/**
 * Edit a user: Description, Enable, Expiry Date, Linux User, and for a local user a password
 * reset (typed, or generated and shown once). Only what changed is sent.
 */
import { Checkbox, FormGroup } from "@patternfly/react-core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";

import { api, unwrap } from "../../api/client";
import { keys, type Schemas, type User } from "../../api/queries";
import { DescriptionField, EditDialog, TextField } from "../common/EditDialog";
import { EnableSwitch } from "./EnableSwitch";
import { PasswordShown } from "./CreateUserDialog";
import { dateOf, ExpiryField, expiryOf } from "./ExpiryField";
import { INITIAL_PASSWORD, passwordBody, type PasswordChoice, PasswordFields } from "./PasswordFields";

const FIELDS = ["description", "enabled", "expiry", "linux_user", "password", "random_password", "temporary"];

export function EditUserDialog({ user, onClose }: { user: User; onClose: () => void }) {
  const client = useQueryClient();
  const ids = { reset: useId() };
  const [description, setDescription] = useState(user.description);
  const [enabled, setEnabled] = useState(user.enabled);
  const [expiry, setExpiry] = useState(dateOf(user.expiry));
  const [linuxUser, setLinuxUser] = useState(user.linux_user ?? "");
  const [reset, setReset] = useState(false);
  const [password, setPassword] = useState<PasswordChoice>(INITIAL_PASSWORD);
  const [shown, setShown] = useState<string | null>(null);

  const save = useMutation({
    mutationFn: async () => {
      const body: Schemas["UserUpdate"] = { random_password: false };
      if (description !== user.description) body.description = description;
      if (enabled !== user.enabled) body.enabled = enabled;
      if (expiry !== dateOf(user.expiry)) body.expiry = expiryOf(expiry);
      if (linuxUser !== (user.linux_user ?? "")) body.linux_user = linuxUser || null;
      if (reset) Object.assign(body, passwordBody(password));
      return unwrap(
        await api.PATCH("/api/v1/users/{user_id}", {
          params: { path: { user_id: user.id } },
          body,
        }),
      );
    },
    onSuccess: (answer) => {
      void client.invalidateQueries({ queryKey: keys.users });
      void client.invalidateQueries({ queryKey: keys.user(user.id) });
      if (answer.password) setShown(answer.password);
      else onClose();
    },
  });
  const error = save.error;
  if (shown) return <PasswordShown username={user.username} password={shown} onClose={onClose} />;
  return (
    <EditDialog
      title={`Edit user ${user.username}`}
      variant="medium"
      fields={FIELDS}
      isPending={save.isPending}
      error={error}
      onSubmit={() => save.mutate()}
      onClose={onClose}
    >
      <DescriptionField value={description} onChange={setDescription} error={error} />
      <EnableSwitch value={enabled} onChange={setEnabled} error={error} isDisabled={user.is_root} />
      <ExpiryField value={expiry} onChange={setExpiry} error={error} />
      <TextField
        label="Linux User (Optional)"
        field="linux_user"
        value={linuxUser}
        onChange={setLinuxUser}
        error={error}
      />
      {!user.external && (
        <FormGroup fieldId={ids.reset}>
          <Checkbox
            id={ids.reset}
            label="Reset password"
            isChecked={reset}
            onChange={(_e, checked) => setReset(checked)}
          />
        </FormGroup>
      )}
      {reset && <PasswordFields value={password} onChange={setPassword} error={error} />}
    </EditDialog>
  );
}
