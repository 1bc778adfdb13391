/**
 * Messages under the wizard's fields, keyed by the API's field names (`memory`,
 * `metadata.new_volumes[0].size`): the server's error for the field it names, else the
 * cheap hint for a field the user has edited. One map, so a step shows both the same way.
 */
import { FormHelperText, HelperText, HelperTextItem } from "@patternfly/react-core";

export type FieldErrors = Partial<Record<string, string>>;

/** The message for exactly `field` (`cpu` is the topology as a whole, not `cpu.cores`). */
export function FieldMessage({ errors, field }: { errors: FieldErrors; field: string }) {
  const message = errors[field];
  if (!message) return null;
  return (
    <FormHelperText>
      <HelperText>
        <HelperTextItem variant="error">{message}</HelperTextItem>
      </HelperText>
    </FormHelperText>
  );
}

/** "error" when any of `fields` has a message, for a control's `validated` prop. */
export function validatedOf(errors: FieldErrors, ...fields: string[]): "error" | "default" {
  return fields.some((field) => errors[field]) ? "error" : "default";
}
