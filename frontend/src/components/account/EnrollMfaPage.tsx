/**
 * The one page a user sees while their organization requires a second factor they have not
 * enrolled (`must_enroll_mfa` in `GET /v1/auth/me`): set it up, or log out. The server
 * refuses everything else to such a session too.
 */
import { Alert, Button, LoginPage } from "@patternfly/react-core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useNavigate } from "react-router";

import { api, unwrap } from "../../api/client";
import { messageOf } from "../../api/errors";
import { useMe } from "../../api/queries";
import { type Enrolment, EnrollMfaDialog } from "./EnrollMfaDialog";

export function EnrollMfaPage() {
  const me = useMe();
  const client = useQueryClient();
  const navigate = useNavigate();
  // The page has no DialogHost (it stands in for the whole app), so it holds its dialog.
  const [enrolment, setEnrolment] = useState<Enrolment | null>(null);
  const enroll = useMutation({
    mutationFn: async () => unwrap(await api.POST("/api/v1/auth/mfa/enroll")),
    onSuccess: setEnrolment,
  });
  const logout = useMutation({
    mutationFn: async () => api.POST("/api/v1/auth/logout"),
    onSettled: () => {
      client.clear();
      void navigate("/signin", { replace: true });
    },
  });
  return (
    <LoginPage
      loginTitle="Set up multi-factor authentication"
      loginSubtitle={`Signed in as ${me.data?.username ?? ""}. Your organization requires a code from an authenticator app at sign-in: set one up to continue.`}
    >
      {enroll.isError && (
        <Alert variant="danger" isInline title="MFA can't be set up now" className="pf-v6-u-mb-md">
          {messageOf(enroll.error)}
        </Alert>
      )}
      <Button variant="primary" isBlock onClick={() => enroll.mutate()} isLoading={enroll.isPending}>
        Set up MFA
      </Button>
      <Button variant="link" isInline className="pf-v6-u-mt-md" onClick={() => logout.mutate()}>
        Log out
      </Button>
      {enrolment && (
        <EnrollMfaDialog
          enrolment={enrolment}
          onClose={() => {
            setEnrolment(null);
            // Enrolled (or not): ask again; the app opens once the server no longer requires it.
            void client.invalidateQueries();
          }}
        />
      )}
    </LoginPage>
  );
}
