/** The Enable toggle of the Create User and Edit user dialogs (seed: "Enable"). */
import { FormGroup, Switch } from "@patternfly/react-core";
import { useId } from "react";

import { FieldError } from "../common/FieldError";

export function EnableSwitch({
  value,
  onChange,
  error,
  isDisabled = false,
}: {
  value: boolean;
  onChange: (value: boolean) => void;
  error: unknown;
  /** The root user can't be disabled. */
  isDisabled?: boolean;
}) {
  const id = useId();
  return (
    <FormGroup fieldId={id}>
      <Switch
        id={id}
        label="Enable"
        isChecked={value}
        onChange={(_e, checked) => onChange(checked)}
        isDisabled={isDisabled}
      />
      <FieldError error={error} field="enabled" />
    </FormGroup>
  );
}
