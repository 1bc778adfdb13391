/**
 * The sign-in page ("Log in" in the seed): Username and Password, the server's reason when
 * it refuses (a wrong password, a disabled or expired user), and back to where the user was.
 */
import { Alert, LoginForm, LoginPage } from "@patternfly/react-core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { useLocation, useNavigate, useSearchParams } from "react-router";

import { api, unwrap } from "../../api/client";
import { messageOf } from "../../api/errors";
import { keys } from "../../api/queries";

/**
 * Only a page of this site: `next` comes from the URL, so it must not lead elsewhere. A
 * prefix check isn't enough (browsers read `/\evil.com`, and `/<tab>/evil.com` from
 * `/%09/evil.com`, as another host), so let the URL parser decide, as the browser will,
 * and keep only our own origin.
 */
function safeNext(next: string | null): string {
  if (!next) return "/";
  let target: URL;
  try {
    target = new URL(next, window.location.origin);
  } catch {
    return "/";
  }
  if (target.origin !== window.location.origin || target.pathname === "/signin") return "/";
  return `${target.pathname}${target.search}${target.hash}`;
}

export function SignInPage() {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const location = useLocation();
  const client = useQueryClient();
  // Sent here because the session ended (expired, logged out elsewhere), not by choice.
  const ended = (location.state as { sessionEnded?: boolean } | null)?.sessionEnded === true;

  const login = useMutation({
    mutationFn: async () =>
      unwrap(await api.POST("/api/v1/auth/login", { body: { username, password } })),
    onSuccess: (result) => {
      // Nothing read in an earlier session (perhaps another user's) outlives it.
      client.clear();
      client.setQueryData(keys.me, result.user);
      navigate(safeNext(params.get("next")), { replace: true });
    },
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    login.mutate();
  };

  return (
    <LoginPage
      loginTitle="Log in to cloudenv"
      loginSubtitle="Use the credentials set during installation (the first user is pceadmin)."
      brandImgSrc={undefined}
      textContent="An open private cloud: virtual machines, containers, storage and networks."
    >
      {ended && !login.isError && (
        <Alert
          className="ce-signin-notice"
          variant="info"
          isInline
          isPlain
          title="Your session has ended. Log in again to return to where you were."
        />
      )}
      <LoginForm
        usernameLabel="Username"
        usernameValue={username}
        onChangeUsername={(_e, value) => setUsername(value)}
        passwordLabel="Password"
        passwordValue={password}
        onChangePassword={(_e, value) => setPassword(value)}
        isShowPasswordEnabled
        showHelperText={login.isError}
        helperText={login.isError ? messageOf(login.error) : undefined}
        isValidUsername={!login.isError}
        isValidPassword={!login.isError}
        loginButtonLabel="Log in"
        isLoginButtonDisabled={login.isPending || username === "" || password === ""}
        onLoginButtonClick={submit}
      />
    </LoginPage>
  );
}
