/**
 * MFA enrolment: the QR code of the new secret (and the secret as text, for an app that
 * can't scan), the first code from the authenticator app to confirm, and then the recovery
 * codes, shown once: each signs in once in place of a code when the phone is lost.
 */
import {
  Alert,
  Button,
  ClipboardCopy,
  ClipboardCopyVariant,
  Content,
  Flex,
  FlexItem,
  Form,
  FormGroup,
  Modal,
  ModalBody,
  ModalFooter,
  ModalHeader,
  TextInput,
} from "@patternfly/react-core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";

import { api, unwrap } from "../../api/client";
import { keys, type Schemas } from "../../api/queries";
import { errorIdOf, FieldError, validatedBy } from "../common/FieldError";
import { QrCode } from "./QrCode";

export type Enrolment = Schemas["MfaEnrolment"];

export function EnrollMfaDialog({ enrolment, onClose }: { enrolment: Enrolment; onClose: () => void }) {
  const client = useQueryClient();
  const titleId = useId();
  const codeId = useId();
  const [code, setCode] = useState("");
  const confirm = useMutation({
    mutationFn: async () => unwrap(await api.POST("/api/v1/auth/mfa/confirm", { body: { code: code.trim() } })),
    onSuccess: () => client.invalidateQueries({ queryKey: keys.me }),
  });
  const error = confirm.error;
  const fieldNamed = validatedBy(error, "code") === "error";

  if (confirm.isSuccess) {
    return (
      <Modal isOpen variant="small" onClose={onClose} aria-labelledby={titleId}>
        <ModalHeader title="Save your recovery codes" labelId={titleId} />
        <ModalBody>
          <Alert variant="warning" isInline title="They are shown only this once">
            Keep them somewhere safe. Each one signs you in once in place of a code from the app.
          </Alert>
          <ClipboardCopy
            className="pf-v6-u-mt-md"
            isReadOnly
            isCode
            variant={ClipboardCopyVariant.expansion}
            isExpanded
            hoverTip="Copy"
            clickTip="Copied"
            textAriaLabel="Recovery codes"
            toggleAriaLabel="Show recovery codes"
          >
            {enrolment.recovery_codes.join("\n")}
          </ClipboardCopy>
        </ModalBody>
        <ModalFooter>
          <Button variant="primary" onClick={onClose}>
            Done
          </Button>
        </ModalFooter>
      </Modal>
    );
  }

  return (
    <Modal isOpen variant="medium" onClose={confirm.isPending ? undefined : onClose} aria-labelledby={titleId}>
      <ModalHeader title="Set up multi-factor authentication" labelId={titleId} />
      <ModalBody>
        <Flex spaceItems={{ default: "spaceItemsLg" }} alignItems={{ default: "alignItemsFlexStart" }}>
          <FlexItem>
            <QrCode text={enrolment.otpauth_uri} label="QR code of the authenticator secret" />
          </FlexItem>
          <FlexItem flex={{ default: "flex_1" }}>
            <Content component="p">
              Scan the code with an authenticator app (any TOTP app), or enter the secret by hand:
            </Content>
            <ClipboardCopy isReadOnly isCode hoverTip="Copy" clickTip="Copied" textAriaLabel="Secret">
              {enrolment.secret}
            </ClipboardCopy>
            <Form
              className="pf-v6-u-mt-md"
              onSubmit={(event) => {
                event.preventDefault();
                if (code.trim() && !confirm.isPending) confirm.mutate();
              }}
            >
              <FormGroup label="Code from the app" isRequired fieldId={codeId}>
                <TextInput
                  id={codeId}
                  value={code}
                  onChange={(_e, v) => setCode(v)}
                  inputMode="numeric"
                  autoComplete="one-time-code"
                  validated={validatedBy(error, "code")}
                  aria-describedby={errorIdOf(codeId)}
                  isRequired
                />
                <FieldError error={error} field="code" controlId={codeId} />
              </FormGroup>
            </Form>
            {error && !fieldNamed ? (
              <Alert variant="danger" isInline title="MFA was not turned on" className="pf-v6-u-mt-md">
                {error.message}
              </Alert>
            ) : null}
          </FlexItem>
        </Flex>
      </ModalBody>
      <ModalFooter>
        <Button
          variant="primary"
          onClick={() => confirm.mutate()}
          isLoading={confirm.isPending}
          isDisabled={confirm.isPending || code.trim() === ""}
        >
          Confirm
        </Button>
        <Button variant="link" onClick={onClose} isDisabled={confirm.isPending}>
          Cancel
        </Button>
      </ModalFooter>
    </Modal>
  );
}
