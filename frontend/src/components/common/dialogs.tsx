/**
 * The two confirmations every destructive or disruptive action uses: `ConfirmDialog`
 * ("Confirm" / "Cancel") for power actions, and `TypeToConfirmDialog`, which enables its
 * action only once the user has typed the requested word (`DESTROY`), as the seed asks.
 * Both keep the dialog open with the server's message when the action fails, and can't be
 * dismissed (Cancel, Escape, the close button) while the request runs: the outcome would
 * otherwise go unseen.
 */
import {
  Alert,
  Button,
  Form,
  FormGroup,
  Modal,
  ModalBody,
  ModalFooter,
  ModalHeader,
  TextInput,
} from "@patternfly/react-core";
import { type ReactNode, useId, useState } from "react";

import { messageOf } from "../../api/errors";

interface ConfirmProps {
  title: string;
  children: ReactNode;
  /** The confirming button's label; the seed's word is "Confirm". */
  actionLabel?: string;
  variant?: "primary" | "danger";
  isPending: boolean;
  /** Keeps the action disabled, e.g. until the confirmation word is typed. */
  isActionDisabled?: boolean;
  error: unknown;
  onConfirm: () => void;
  onClose: () => void;
}

export function ConfirmDialog({
  title,
  children,
  actionLabel = "Confirm",
  variant = "primary",
  isPending,
  isActionDisabled = false,
  error,
  onConfirm,
  onClose,
}: ConfirmProps) {
  const titleId = useId();
  // Without onClose, PatternFly shows no close button and ignores Escape.
  return (
    <Modal isOpen variant="small" onClose={isPending ? undefined : onClose} aria-labelledby={titleId}>
      <ModalHeader
        title={title}
        labelId={titleId}
        titleIconVariant={variant === "danger" ? "warning" : undefined}
      />
      <ModalBody>
        {children}
        {error ? (
          <Alert variant="danger" isInline title="The action failed" className="pf-v6-u-mt-md">
            {messageOf(error)}
          </Alert>
        ) : null}
      </ModalBody>
      <ModalFooter>
        <Button variant={variant} onClick={onConfirm} isLoading={isPending} isDisabled={isPending || isActionDisabled}>
          {actionLabel}
        </Button>
        <Button variant="link" onClick={onClose} isDisabled={isPending}>
          Cancel
        </Button>
      </ModalFooter>
    </Modal>
  );
}

interface TypeToConfirmProps extends Omit<ConfirmProps, "variant"> {
  /** The word the user must type, e.g. `DESTROY`. */
  word: string;
}

export function TypeToConfirmDialog({ word, children, onConfirm, ...rest }: TypeToConfirmProps) {
  const [typed, setTyped] = useState("");
  const inputId = useId();
  const matches = typed === word;
  // Enter submits the form even while the button is disabled: a second request must not go.
  const confirm = () => {
    if (matches && !rest.isPending) onConfirm();
  };
  return (
    <ConfirmDialog
      {...rest}
      variant="danger"
      onConfirm={confirm}
      isActionDisabled={!matches}
    >
      <Form
        onSubmit={(event) => {
          event.preventDefault();
          confirm();
        }}
      >
        {children}
        <FormGroup label={`Type ${word} to confirm`} fieldId={inputId}>
          <TextInput
            id={inputId}
            value={typed}
            onChange={(_e, value) => setTyped(value)}
            autoComplete="off"
            aria-label={`Type ${word} to confirm`}
          />
        </FormGroup>
      </Form>
    </ConfirmDialog>
  );
}
