/**
 * The sign-in page ("Log in" in the seed): Username and Password, the server's reason when
 * it refuses (a wrong password, a disabled or expired user), and back to where the user was.
 * A user with MFA is then asked for the one-time code (the server answers 401 naming the
 * field `otp`), or one of their recovery codes.
 */
import {
  ActionGroup,
  Alert,
  Button,
  Form,
  FormGroup,
  FormHelperText,
  HelperText,
  HelperTextItem,
  LoginForm,
  LoginPage,
  TextInput,
} from "@patternfly/react-core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useId, useState } from "react";
import { useLocation, useNavigate, useSearchParams } from "react-router";

import { api, unwrap } from "../../api/client";
import { ApiError, messageOf } from "../../api/errors";
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
  // Asked for once the server says the user has MFA; until then the request has no `otp`.
  const [askOtp, setAskOtp] = useState(false);
  const [otp, setOtp] = useState("");
  const otpId = useId();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const location = useLocation();
  const client = useQueryClient();
  // Sent here because the session ended (expired, logged out elsewhere), not by choice.
  const ended = (location.state as { sessionEnded?: boolean } | null)?.sessionEnded === true;

  const login = useMutation({
    /** `withOtp`: whether this attempt carries the one-time code. */
    mutationFn: async (withOtp: boolean) =>
      unwrap(
        await api.POST("/api/v1/auth/login", {
          body: withOtp ? { username, password, otp: otp.trim() } : { username, password },
        }),
      ),
    onError: (error) => {
      // The password was right; the second factor is missing (or, once asked, wrong).
      if (error instanceof ApiError && error.code === 401 && error.field === "otp") setAskOtp(true);
    },
    onSuccess: (result) => {
      // Nothing read in an earlier session (perhaps another user's) outlives it.
      client.clear();
      client.setQueryData(keys.me, result.user);
      navigate(safeNext(params.get("next")), { replace: true });
    },
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    login.mutate(askOtp);
  };
  // The answer that asks for the code is a question, not an error to show in red: only a
  // refused attempt that carried a code is.
  const otpError = askOtp && login.isError && login.variables ? messageOf(login.error) : undefined;

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
      {askOtp ? (
        <Form onSubmit={submit} aria-label="One-time code">
          <FormGroup label="One-time code" isRequired fieldId={otpId}>
            <TextInput
              id={otpId}
              value={otp}
              onChange={(_e, value) => setOtp(value)}
              autoComplete="one-time-code"
              autoFocus
              validated={otpError ? "error" : "default"}
              aria-describedby={`${otpId}-help`}
              isRequired
            />
            <FormHelperText>
              <HelperText>
                <HelperTextItem id={`${otpId}-help`} variant={otpError ? "error" : "default"}>
                  {otpError ?? "The code from your authenticator app, or one of your recovery codes."}
                </HelperTextItem>
              </HelperText>
            </FormHelperText>
          </FormGroup>
          <ActionGroup>
            <Button type="submit" variant="primary" isBlock isDisabled={login.isPending || otp.trim() === ""}>
              Log in
            </Button>
            <Button
              variant="link"
              isBlock
              onClick={() => {
                setAskOtp(false);
                setOtp("");
                setPassword("");
                login.reset();
              }}
            >
              Back
            </Button>
          </ActionGroup>
        </Form>
      ) : (
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
      )}
    </LoginPage>
  );
}
