/**
 * The two confirmations every destructive or disruptive action uses: `ConfirmDialog`
 * ("Confirm" / "Cancel") for power actions, and `TypeToConfirmDialog`, which enables its
 * action only once the user has typed the requested word (`DESTROY`), as the seed asks.
 * Both keep the dialog open with the server's message when the action fails, and can't be
 * dismissed (Cancel, Escape, the close button) while the request runs: the outcome would
 * otherwise go unseen. `DestroyDialog` is the type-to-confirm dialog with its request:
 * what most resources' destroy needs.
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
import { type QueryKey, useMutation, useQueryClient } from "@tanstack/react-query";
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

/** The word every destroy asks the user to type (the seed's). */
export const DESTROY_WORD = "DESTROY";

interface DestroyProps {
  title: string;
  children: ReactNode;
  /** Sends the destroy request, passing the typed word on as the server's `confirm`. */
  run: (confirm: string) => Promise<unknown>;
  /** The cached queries the destroyed resource appears in. */
  invalidate: QueryKey[];
  onClose: () => void;
}

/** Type DESTROY, Confirm: the request runs, the lists holding the resource refresh and
 * the dialog closes; a refusal keeps it open with the server's message. */
export function DestroyDialog({ title, children, run, invalidate, onClose }: DestroyProps) {
  const client = useQueryClient();
  const destroy = useMutation({
    mutationFn: () => run(DESTROY_WORD),
    onSuccess: () => {
      for (const queryKey of invalidate) void client.invalidateQueries({ queryKey });
      onClose();
    },
  });
  return (
    <TypeToConfirmDialog
      title={title}
      word={DESTROY_WORD}
      isPending={destroy.isPending}
      error={destroy.error}
      onConfirm={() => destroy.mutate()}
      onClose={onClose}
    >
      {children}
    </TypeToConfirmDialog>
  );
}
