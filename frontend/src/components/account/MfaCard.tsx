/**
 * Multi-factor authentication on My account: whether it is on, and Set up MFA, which asks
 * the server for a new secret and opens the enrolment dialog with it. Enrolling again
 * replaces the app's secret and the recovery codes once confirmed.
 */
import { Alert, Button, Card, CardBody, CardTitle, Content, Label } from "@patternfly/react-core";
import { useMutation } from "@tanstack/react-query";

import { api, unwrap } from "../../api/client";
import { messageOf } from "../../api/errors";
import { useMe } from "../../api/queries";
import { useDialogs } from "../common/DialogHost";
import { EnrollMfaDialog } from "./EnrollMfaDialog";

export function MfaCard() {
  const dialogs = useDialogs();
  const me = useMe();
  const enabled = me.data?.mfa_enabled === true;
  const enroll = useMutation({
    mutationFn: async () => unwrap(await api.POST("/api/v1/auth/mfa/enroll")),
    onSuccess: (enrolment) => dialogs.open((close) => <EnrollMfaDialog enrolment={enrolment} onClose={close} />),
  });
  return (
    <Card>
      <CardTitle component="h2">Multi-factor authentication</CardTitle>
      <CardBody>
        <Content component="p">
          {enabled ? (
            <Label color="green">On</Label>
          ) : (
            <Label>Off</Label>
          )}{" "}
          {enabled
            ? "Signing in asks for a code from your authenticator app, or a recovery code."
            : "Signing in asks only for your password. Add a code from an authenticator app on your phone."}
        </Content>
        {enroll.isError && (
          <Alert variant="danger" isInline title="MFA can't be set up now" className="pf-v6-u-mb-md">
            {messageOf(enroll.error)}
          </Alert>
        )}
        <Button variant="secondary" onClick={() => enroll.mutate()} isLoading={enroll.isPending}>
          {enabled ? "Set up MFA again" : "Set up MFA"}
        </Button>
      </CardBody>
    </Card>
  );
}
