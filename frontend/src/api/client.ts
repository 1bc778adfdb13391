/**
 * The one typed client of the cloudenv API. Its types come from `schema.d.ts`, generated
 * from `docs/openapi.json`, so the UI fails to compile when the API changes under it.
 *
 * Requests ride on the session cookie (HttpOnly, so scripts never hold the token) and carry
 * `X-Requested-With`, the CSRF defence the API demands of cookie-authenticated writes: a
 * foreign page can't add a custom header without a CORS preflight, which the API never grants.
 */
import createClient, { type Middleware } from "openapi-fetch";

import { ApiError } from "./errors";
import type { paths } from "./schema";

export const CSRF_HEADER = "X-Requested-With";
export const CSRF_VALUE = "cloudenv";

/** Called when the API says the session is gone (401), so the app can send the user to sign-in. */
let onSignedOut: () => void = () => {};
export function setSignedOutHandler(handler: () => void): void {
  onSignedOut = handler;
}

const failures: Middleware = {
  async onResponse({ request, response }) {
    if (response.ok) return undefined;
    const body: unknown = await response
      .clone()
      .json()
      .catch(() => null);
    const error = ApiError.from(response.status, body);
    // A wrong password at sign-in is a 401 too, but not a lost session.
    if (response.status === 401 && !new URL(request.url).pathname.endsWith("/auth/login")) {
      onSignedOut();
    }
    throw error;
  },
};

export const api = createClient<paths>({
  baseUrl: "",
  credentials: "same-origin",
  headers: { [CSRF_HEADER]: CSRF_VALUE },
});
api.use(failures);

/** The data of a successful call; failures were thrown as ApiError by the middleware. */
export function unwrap<T>(result: { data?: T; error?: unknown }): T {
  if (result.error !== undefined) throw result.error;
  return result.data as T;
}
