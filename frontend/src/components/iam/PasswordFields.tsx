/**
 * How a local user gets a password, in Create User and Edit user's reset: one the
 * administrator types, or one the server generates (shown once, after the change). Either
 * may be temporary, which makes the user choose their own at the next sign-in.
 */
import {
  Checkbox,
  FormGroup,
  FormHelperText,
  HelperText,
  HelperTextItem,
  Radio,
  TextInput,
} from "@patternfly/react-core";
import { useId } from "react";

import { errorIdOf, FieldError, validatedBy } from "../common/FieldError";

export interface PasswordChoice {
  mode: "set" | "random";
  password: string;
  temporary: boolean;
}

export const INITIAL_PASSWORD: PasswordChoice = { mode: "set", password: "", temporary: true };

/** The request fields for the choice (`password`, or `random_password`; `temporary`). */
export function passwordBody(choice: PasswordChoice): {
  password?: string;
  random_password: boolean;
  temporary: boolean;
} {
  return choice.mode === "random"
    ? { random_password: true, temporary: choice.temporary }
    : { password: choice.password, random_password: false, temporary: choice.temporary };
}

export function PasswordFields({
  value,
  onChange,
  error,
}: {
  value: PasswordChoice;
  onChange: (value: PasswordChoice) => void;
  error: unknown;
}) {
  const name = useId();
  const passwordId = useId();
  const temporaryId = useId();
  return (
    <>
      <FormGroup role="radiogroup" isInline fieldId={name} label="Password" isStack>
        <Radio
          id={`${name}-set`}
          name={name}
          label="Set a password"
          isChecked={value.mode === "set"}
          onChange={() => onChange({ ...value, mode: "set" })}
        />
        <Radio
          id={`${name}-random`}
          name={name}
          label="Generate a random password"
          description="Shown once, after the user is saved."
          isChecked={value.mode === "random"}
          onChange={() => onChange({ ...value, mode: "random", password: "" })}
        />
      </FormGroup>
      {value.mode === "set" && (
        <FormGroup label="New password" isRequired fieldId={passwordId}>
          <TextInput
            id={passwordId}
            type="password"
            value={value.password}
            onChange={(_e, password) => onChange({ ...value, password })}
            validated={validatedBy(error, "password")}
            aria-describedby={`${passwordId}-hint ${errorIdOf(passwordId)}`}
            autoComplete="new-password"
            isRequired
          />
          <FormHelperText>
            <HelperText>
              <HelperTextItem id={`${passwordId}-hint`}>
                At least 12 characters, not containing the username, not a common password.
              </HelperTextItem>
            </HelperText>
          </FormHelperText>
          <FieldError error={error} field="password" controlId={passwordId} />
        </FormGroup>
      )}
      <FormGroup fieldId={temporaryId}>
        <Checkbox
          id={temporaryId}
          label="Temporary password"
          description="The user must choose a new password at their next sign-in."
          isChecked={value.temporary}
          onChange={(_e, temporary) => onChange({ ...value, temporary })}
        />
      </FormGroup>
    </>
  );
}
