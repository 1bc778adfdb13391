/** The server's message under the field it names (`{field}` of the API's error). */
import { FormHelperText, HelperText, HelperTextItem } from "@patternfly/react-core";

import { fieldError } from "../../api/errors";

export function FieldError({ error, field }: { error: unknown; field: string }) {
  const message = fieldError(error, field);
  if (!message) return null;
  return (
    <FormHelperText>
      <HelperText>
        <HelperTextItem variant="error">{message}</HelperTextItem>
      </HelperText>
    </FormHelperText>
  );
}

/** "error" when the server's error names `field`, for a control's `validated` prop. */
export function validatedBy(error: unknown, field: string): "error" | "default" {
  return fieldError(error, field) ? "error" : "default";
}
