/**
 * Expiry Date (Optional): a day, after which the user can't sign in. The API takes a time;
 * the user expires at the end of the chosen day in the browser's time zone.
 */
import { FormGroup, FormHelperText, HelperText, HelperTextItem, TextInput } from "@patternfly/react-core";
import { useId } from "react";

import { errorIdOf, FieldError, validatedBy } from "../common/FieldError";

/** The `<input type="date">` value (YYYY-MM-DD, local) of an API time; "" for none. */
export function dateOf(time: string | null | undefined): string {
  if (!time) return "";
  const date = new Date(time);
  if (Number.isNaN(date.getTime())) return "";
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** The API time for a chosen day (its last second, local); null for none. */
export function expiryOf(day: string): string | null {
  if (!day) return null;
  const end = new Date(`${day}T23:59:59`);
  return Number.isNaN(end.getTime()) ? null : end.toISOString();
}

export function ExpiryField({
  value,
  onChange,
  error,
}: {
  value: string;
  onChange: (value: string) => void;
  error: unknown;
}) {
  const id = useId();
  return (
    <FormGroup label="Expiry Date (Optional)" fieldId={id}>
      <TextInput
        id={id}
        type="date"
        value={value}
        onChange={(_e, day) => onChange(day)}
        validated={validatedBy(error, "expiry")}
        aria-describedby={`${id}-hint ${errorIdOf(id)}`}
      />
      <FormHelperText>
        <HelperText>
          <HelperTextItem id={`${id}-hint`}>
            The user can't sign in after this day. Leave it empty for no expiry.
          </HelperTextItem>
        </HelperText>
      </FormHelperText>
      <FieldError error={error} field="expiry" controlId={id} />
    </FormGroup>
  );
}
