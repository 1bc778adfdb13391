/**
 * What the signed-in user's policies allow, as `GET /v1/auth/me` names it (`actions`: every
 * action some policy allows on some target). The areas' `actions.tsx` hooks and pages hide
 * what no policy allows, so an Operator is never offered Destroy; the server still checks
 * each request against its target, and its refusal is shown as any other error.
 */
import { useMe } from "../../api/queries";

/** An action's name in the API's vocabulary (`instance.destroy`, `user.create`, ...). */
export type ActionName = string;

/** `allowed("instance.destroy")`: whether some policy of the user allows it somewhere. */
export function useAllowed(): (action: ActionName) => boolean {
  const user = useMe().data;
  if (user?.is_root) return () => true;
  const granted = new Set(user?.actions ?? []);
  return (action) => granted.has(action);
}
