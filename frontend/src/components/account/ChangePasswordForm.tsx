/**
 * Change password: the current one, the new one twice. The server's rule (at least 12
 * characters, not containing the username, not a common or breached password) is its to
 * word: its message shows under the field it names. Used on My account and as the only
 * page a user with a temporary password sees until they have chosen their own.
 */
import {
  ActionGroup,
  Alert,
  Button,
  Form,
  FormGroup,
  FormHelperText,
  HelperText,
  HelperTextItem,
  TextInput,
} from "@patternfly/react-core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";

import { api, unwrap } from "../../api/client";
import { fieldError, messageOf } from "../../api/errors";
import { keys } from "../../api/queries";
import { errorIdOf, FieldError, validatedBy } from "../common/FieldError";

export function ChangePasswordForm({ onChanged }: { onChanged?: () => void }) {
  const client = useQueryClient();
  const ids = { current: useId(), next: useId(), again: useId() };
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
      <FormGroup label="Current password" isRequired fieldId={ids.current}>
        <TextInput
          id={ids.current}
          type="password"
          value={current}
          onChange={(_e, v) => setCurrent(v)}
          validated={validatedBy(error, "current_password")}
          aria-describedby={errorIdOf(ids.current)}
          autoComplete="current-password"
          isRequired
        />
        <FieldError error={error} field="current_password" controlId={ids.current} />
      </FormGroup>
      <FormGroup label="New password" isRequired fieldId={ids.next}>
        <TextInput
          id={ids.next}
          type="password"
          value={next}
          onChange={(_e, v) => setNext(v)}
          validated={validatedBy(error, "new_password")}
          aria-describedby={`${ids.next}-hint ${errorIdOf(ids.next)}`}
          autoComplete="new-password"
          isRequired
        />
        <FormHelperText>
          <HelperText>
            <HelperTextItem id={`${ids.next}-hint`}>
              At least 12 characters, not containing your username, not a common password.
            </HelperTextItem>
          </HelperText>
        </FormHelperText>
        <FieldError error={error} field="new_password" controlId={ids.next} />
      </FormGroup>
      <FormGroup label="Confirm new password" isRequired fieldId={ids.again}>
        <TextInput
          id={ids.again}
          type="password"
          value={again}
          onChange={(_e, v) => setAgain(v)}
          validated={mismatch ? "error" : "default"}
          aria-describedby={`${ids.again}-mismatch`}
          autoComplete="new-password"
          isRequired
        />
        {mismatch && (
          <FormHelperText>
            <HelperText>
              <HelperTextItem variant="error" id={`${ids.again}-mismatch`}>
                {mismatch}
              </HelperTextItem>
            </HelperText>
          </FormHelperText>
        )}
      </FormGroup>
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
