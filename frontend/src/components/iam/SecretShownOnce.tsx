/**
 * A secret the server gives out once (a generated password, an API token, MFA recovery
 * codes): shown with a copy button and the warning that it can't be shown again, since
 * the server keeps only its hash.
 */
import { Alert, ClipboardCopy, Stack, StackItem } from "@patternfly/react-core";

export function SecretShownOnce({
  title,
  label,
  value,
}: {
  /** What to do with it, e.g. "Copy the password now". */
  title: string;
  /** The accessible name of the value, e.g. "Password". */
  label: string;
  value: string;
}) {
  return (
    <Stack hasGutter>
      <StackItem>
        <Alert variant="warning" isInline title={title}>
          It is shown only this once: the server keeps only a hash of it.
        </Alert>
      </StackItem>
      <StackItem>
        <ClipboardCopy
          isReadOnly
          hoverTip="Copy"
          clickTip="Copied"
          textAriaLabel={label}
          toggleAriaLabel={`Show ${label}`}
        >
          {value}
        </ClipboardCopy>
      </StackItem>
    </Stack>
  );
}
