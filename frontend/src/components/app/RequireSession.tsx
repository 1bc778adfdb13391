/**
 * Shows its children only with a live session. Without one (never signed in, expired,
 * signed out elsewhere) the user goes to sign-in with `next` set, and comes back there. A
 * user signed in with a temporary password sees only the change-password page until they
 * have chosen their own; one whose organization requires MFA, only its set-up until enrolled.
 */
import { Bullseye, Spinner } from "@patternfly/react-core";
import { useQueryClient } from "@tanstack/react-query";
import { type ReactNode, useEffect } from "react";
import { Navigate, useLocation, useNavigate } from "react-router";

import { setSignedOutHandler } from "../../api/client";
import { useEventFeed } from "../../api/events";
import { keys, servingNodeQuery, treeQuery, useMe } from "../../api/queries";
import { ChangePasswordPage } from "../account/ChangePasswordPage";
import { EnrollMfaPage } from "../account/EnrollMfaPage";

/** Navigation state telling the sign-in page that a session ended under the user. */
export const SESSION_ENDED = { sessionEnded: true } as const;

export function signInPath(location: { pathname: string; search: string }): string {
  const next = `${location.pathname}${location.search}`;
  return next === "/" ? "/signin" : `/signin?next=${encodeURIComponent(next)}`;
}

export function RequireSession({ children }: { children: ReactNode }) {
  const me = useMe();
  const location = useLocation();
  const navigate = useNavigate();
  const client = useQueryClient();
  useEventFeed(me.isSuccess);

  // The layout behind the session shows the resource tree, whose spine is the biggest
  // reply of a first paint: ask for it (and for the node that serves this browser, which
  // the tree marks) alongside the session check instead of after it. Without a session
  // both fail with 401 like the check itself, and the tree asks again once signed in.
  useEffect(() => {
    void client.prefetchQuery(treeQuery());
    void client.prefetchQuery(servingNodeQuery());
  }, [client]);

  useEffect(() => {
    setSignedOutHandler(() => {
      // Several calls fail at once when a session ends; the first one sends the user
      // away, and the rest must not make the sign-in page its own `next`.
      if (window.location.pathname === "/signin") return;
      // Only a session this page had can have ended: a first visit (no session yet) is
      // refused too, and must not be told its session ended.
      const hadSession = client.getQueryData(keys.me) !== undefined;
      client.removeQueries({ queryKey: keys.me });
      navigate(signInPath(window.location), {
        replace: true,
        state: hadSession ? SESSION_ENDED : undefined,
      });
    });
  }, [client, navigate]);

  if (me.isPending) {
    return (
      <Bullseye>
        <Spinner aria-label="Loading" />
      </Bullseye>
    );
  }
  if (me.isError) return <Navigate to={signInPath(location)} replace />;
  if (me.data.must_change_password) return <ChangePasswordPage />;
  if (me.data.must_enroll_mfa) return <EnrollMfaPage />;
  return <>{children}</>;
}
