/**
 * The frame of the Edit dialogs (organization, datacenter, cluster, …): a form with the
 * seed's Confirm and Cancel, the server's error next to the field it names, or as an alert
 * above the buttons when it names none of the form's fields. The dialog stays open with the
 * user's input when the server refuses, so nothing is lost and nothing has changed. While
 * the request runs it can't be dismissed (Cancel, Escape, the close button).
 */
import {
  Alert,
  Button,
  Form,
  FormGroup,
  FormHelperText,
  HelperText,
  HelperTextItem,
  Modal,
  ModalBody,
  ModalFooter,
  ModalHeader,
  TextArea,
  TextInput,
} from "@patternfly/react-core";
import { type ReactNode, useId } from "react";

import { fieldError, messageOf } from "../../api/errors";

interface Props {
  title: string;
  /** The request fields the form shows; an error naming another goes to the alert. */
  fields: string[];
  isPending: boolean;
  error: unknown;
  onSubmit: () => void;
  onClose: () => void;
  children: ReactNode;
  variant?: "small" | "medium" | "large";
  /** The submitting button's label; the seed's word for edit dialogs is "Confirm". */
  submitLabel?: string;
  /** The alert's title when the server's error names none of the form's fields. */
  errorTitle?: string;
}

export function EditDialog({
  title,
  fields,
  isPending,
  error,
  onSubmit,
  onClose,
  children,
  variant = "small",
  submitLabel = "Confirm",
  errorTitle = "The change was not saved",
}: Props) {
  const titleId = useId();
  const formId = useId();
  const onAField = fields.some((field) => fieldError(error, field) !== undefined);
  // Without onClose, PatternFly shows no close button and ignores Escape.
  return (
    <Modal isOpen variant={variant} onClose={isPending ? undefined : onClose} aria-labelledby={titleId}>
      <ModalHeader title={title} labelId={titleId} />
      <ModalBody>
        <Form
          id={formId}
          onSubmit={(event) => {
            event.preventDefault();
            if (!isPending) onSubmit();
          }}
        >
          {children}
          {error && !onAField ? (
            <Alert variant="danger" isInline title={errorTitle}>
              {messageOf(error)}
            </Alert>
          ) : null}
        </Form>
      </ModalBody>
      <ModalFooter>
        {/* Tied to the form by `form`, so Enter in any field submits it too. */}
        <Button
          variant="primary"
          type="submit"
          form={formId}
          isLoading={isPending}
          isDisabled={isPending}
        >
          {submitLabel}
        </Button>
        <Button variant="link" onClick={onClose} isDisabled={isPending}>
          Cancel
        </Button>
      </ModalFooter>
    </Modal>
  );
}

/**
 * A field's helper line: the server's message when it names the field, else the local
 * warning, else the hint. Give the control `aria-describedby={id}` so a screen reader reads
 * the message with the field.
 */
export function FieldHelp({
  id,
  error,
  field,
  hint,
  warning,
}: {
  id: string;
  error: unknown;
  field: string;
  hint?: string;
  warning?: string;
}) {
  const server = fieldError(error, field);
  const [text, variant] = server
    ? [server, "error" as const]
    : warning
      ? [warning, "warning" as const]
      : [hint, "default" as const];
  if (!text) return null;
  return (
    <FormHelperText>
      <HelperText>
        <HelperTextItem id={id} variant={variant}>
          {text}
        </HelperTextItem>
      </HelperText>
    </FormHelperText>
  );
}

/** The validated state of a control: the server's word first, then the local hint's. */
export function validation(
  error: unknown,
  field: string,
  warning?: string,
): "error" | "warning" | "default" {
  if (fieldError(error, field)) return "error";
  return warning ? "warning" : "default";
}

/** The API's rule for organization, datacenter and cluster names (API-COMPAT: Names). */
const NAME_RULE = /^[a-zA-Z0-9_-]{3,64}$/;
export const DESCRIPTION_LIMIT = 512;

export function NameField({
  value,
  onChange,
  error,
}: {
  value: string;
  onChange: (value: string) => void;
  error: unknown;
}) {
  const id = useId();
  const warning = NAME_RULE.test(value)
    ? undefined
    : "Use 3 to 64 letters, digits, hyphens or underscores.";
  return (
    <FormGroup label="Name" isRequired fieldId={id}>
      <TextInput
        id={id}
        value={value}
        onChange={(_e, next) => onChange(next)}
        validated={validation(error, "name", warning)}
        aria-describedby={`${id}-help`}
        isRequired
        autoComplete="off"
      />
      <FieldHelp
        id={`${id}-help`}
        error={error}
        field="name"
        hint="3 to 64 letters, digits, hyphens or underscores."
        warning={warning}
      />
    </FormGroup>
  );
}

export function DescriptionField({
  value,
  onChange,
  error,
}: {
  value: string;
  onChange: (value: string) => void;
  error: unknown;
}) {
  const id = useId();
  const warning =
    value.length > DESCRIPTION_LIMIT
      ? `At most ${DESCRIPTION_LIMIT} characters (now ${value.length}).`
      : undefined;
  return (
    <FormGroup label="Description" fieldId={id}>
      <TextArea
        id={id}
        value={value}
        onChange={(_e, next) => onChange(next)}
        validated={validation(error, "description", warning)}
        aria-describedby={`${id}-help`}
        resizeOrientation="vertical"
        rows={2}
      />
      <FieldHelp
        id={`${id}-help`}
        error={error}
        field="description"
        hint={`${value.length} of ${DESCRIPTION_LIMIT} characters.`}
        warning={warning}
      />
    </FormGroup>
  );
}

/** A one-line text input with its label, and the server's message when it names ``field``. */
export function TextField({
  label,
  field,
  value,
  onChange,
  error,
  hint,
  warning,
  isRequired = false,
  type = "text",
  autoComplete,
}: {
  label: string;
  field: string;
  value: string;
  onChange: (value: string) => void;
  error: unknown;
  hint?: string;
  /** What the browser can already tell is wrong (shown until the server says more). */
  warning?: string;
  isRequired?: boolean;
  type?: "text" | "password" | "number";
  autoComplete?: string;
}) {
  const id = useId();
  return (
    <FormGroup label={label} isRequired={isRequired} fieldId={id}>
      <TextInput
        id={id}
        type={type}
        value={value}
        onChange={(_e, next) => onChange(next)}
        validated={validation(error, field, warning)}
        aria-describedby={`${id}-help`}
        isRequired={isRequired}
        autoComplete={autoComplete ?? (type === "password" ? "new-password" : "off")}
      />
      <FieldHelp id={`${id}-help`} error={error} field={field} hint={hint} warning={warning} />
    </FormGroup>
  );
}
