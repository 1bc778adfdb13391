/**
 * Change password: the current one, the new one twice. The server's rule (at least 12
 * characters, not containing the username, not a common or breached password) is its to
 * word: its message shows under the field it names. Used on My account and as the only
 * page a user with a temporary password sees until they have chosen their own.
 */
import { ActionGroup, Alert, Button, Form } from "@patternfly/react-core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { api, unwrap } from "../../api/client";
import { fieldError, messageOf } from "../../api/errors";
import { keys } from "../../api/queries";
import { TextField } from "../common/EditDialog";

export function ChangePasswordForm({ onChanged }: { onChanged?: () => void }) {
  const client = useQueryClient();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [again, setAgain] = useState("");
  const mismatch = again !== "" && again !== next ? "The two new passwords differ." : undefined;
  const change = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST("/api/v1/auth/password", {
          body: { current_password: current, new_password: next },
        }),
      ),
    onSuccess: async () => {
      setCurrent("");
      setNext("");
      setAgain("");
      // `must_change_password` is over: the app shows everything again.
      await client.invalidateQueries({ queryKey: keys.me });
      onChanged?.();
    },
  });
  const error = change.error;
  const onAField = ["current_password", "new_password"].some((f) => fieldError(error, f) !== undefined);
  return (
    <Form
      aria-label="Change password"
      onSubmit={(event) => {
        event.preventDefault();
        if (!mismatch && !change.isPending) change.mutate();
      }}
    >
      <TextField
        label="Current password"
        field="current_password"
        type="password"
        autoComplete="current-password"
        value={current}
        onChange={setCurrent}
        error={error}
        isRequired
      />
      <TextField
        label="New password"
        field="new_password"
        type="password"
        value={next}
        onChange={setNext}
        error={error}
        hint="At least 12 characters, not containing your username, not a common password."
        isRequired
      />
      <TextField
        label="Confirm new password"
        field="confirm_password"
        type="password"
        value={again}
        onChange={setAgain}
        error={error}
        warning={mismatch}
        isRequired
      />
      {error && !onAField ? (
        <Alert variant="danger" isInline title="The password was not changed">
          {messageOf(error)}
        </Alert>
      ) : null}
      {change.isSuccess && <Alert variant="success" isInline isPlain title="Your password was changed." />}
      <ActionGroup>
        <Button
          type="submit"
          variant="primary"
          isLoading={change.isPending}
          isDisabled={change.isPending || !current || !next || !again || mismatch !== undefined}
        >
          Change password
        </Button>
      </ActionGroup>
    </Form>
  );
}
