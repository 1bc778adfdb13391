/**
 * The server's message under the field it names (`{field}` of the API's error). Given the
 * control's ID, the message gets `errorIdOf(controlId)`: put that in the control's
 * `aria-describedby` so a screen reader reads the message with the field (an ID that
 * names nothing, while there is no error, is ignored).
 */
import { FormHelperText, HelperText, HelperTextItem } from "@patternfly/react-core";

import { fieldError } from "../../api/errors";

export function FieldError({
  error,
  field,
  controlId,
}: {
  error: unknown;
  field: string;
  controlId?: string;
}) {
  const message = fieldError(error, field);
  if (!message) return null;
  return (
    <FormHelperText>
      <HelperText>
        <HelperTextItem variant="error" id={controlId ? errorIdOf(controlId) : undefined}>
          {message}
        </HelperTextItem>
      </HelperText>
    </FormHelperText>
  );
}

/** "error" when the server's error names `field`, for a control's `validated` prop. */
export function validatedBy(error: unknown, field: string): "error" | "default" {
  return fieldError(error, field) ? "error" : "default";
}

/** The ID of the server's message about the control `controlId` (see FieldError). */
export function errorIdOf(controlId: string): string {
  return `${controlId}-error`;
}
