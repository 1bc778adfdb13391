/**
 * The one page a user with a temporary password sees after signing in (`must_change_password`
 * in `GET /v1/auth/me`): choose their own password, or log out. Everything else waits, as
 * the server refuses the rest of the API to such a session too.
 */
import { Button, LoginPage } from "@patternfly/react-core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "react-router";

import { api } from "../../api/client";
import { useMe } from "../../api/queries";
import { ChangePasswordForm } from "./ChangePasswordForm";

export function ChangePasswordPage() {
  const me = useMe();
  const client = useQueryClient();
  const navigate = useNavigate();
  const logout = useMutation({
    mutationFn: async () => api.POST("/api/v1/auth/logout"),
    onSettled: () => {
      client.clear();
      void navigate("/signin", { replace: true });
    },
  });
  return (
    <LoginPage
      loginTitle="Choose a new password"
      loginSubtitle={`Signed in as ${me.data?.username ?? ""}. Your password was set by an administrator: choose your own to continue.`}
    >
      {/* Queries refused while the password was temporary (the tree) are asked again. */}
      <ChangePasswordForm onChanged={() => void client.invalidateQueries()} />
      <Button variant="link" isInline className="pf-v6-u-mt-md" onClick={() => logout.mutate()}>
        Log out
      </Button>
    </LoginPage>
  );
}
