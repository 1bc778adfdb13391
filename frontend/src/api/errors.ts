/** The API's error shape, `{code, message, field}`, as one Error class the UI can show. */

export interface ErrorBody {
  code: number;
  message: string;
  field?: string | null;
  details?: unknown[] | null;
}

export class ApiError extends Error {
  readonly code: number;
  /** The request field at fault (dotted, items by index: `location.longitude`, `new_volumes[0].size`), when one is. */
  readonly field: string | null;
  /** Per-item results a refusal carries (an import's rows), when it does. */
  readonly details: unknown[] | null;

  constructor(body: ErrorBody) {
    super(body.message);
    this.name = "ApiError";
    this.code = body.code;
    this.field = body.field ?? null;
    this.details = body.details ?? null;
  }

  /** Built from whatever a failed response carried, even when it isn't our JSON. */
  static from(status: number, body: unknown): ApiError {
    if (body && typeof body === "object" && "message" in body) {
      const b = body as Partial<ErrorBody>;
      return new ApiError({
        code: typeof b.code === "number" ? b.code : status,
        message: String(b.message),
        field: typeof b.field === "string" ? b.field : null,
        details: Array.isArray(b.details) ? (b.details as unknown[]) : null,
      });
    }
    return new ApiError({ code: status, message: `The server answered ${status}.` });
  }
}

/** The message to show for any thrown value. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** The server's message for `field`, when the error names that field (or one inside it). */
export function fieldError(error: unknown, field: string): string | undefined {
  if (!(error instanceof ApiError) || !error.field) return undefined;
  const f = error.field;
  // Inside it: `cpu.cores` under `cpu`, and an item, `new_volumes[0].size`, under `new_volumes`.
  return f === field || f.startsWith(`${field}.`) || f.startsWith(`${field}[`) ? error.message : undefined;
}

/**
 * Whether a failed query is asked again: a network failure is (the browser aborts its
 * requests in flight when the host's interfaces change, and a restarting node drops them),
 * twice at most; the server's own answer (an ApiError: a refusal, a 401) is not.
 */
export function retryNetworkFailure(failureCount: number, error: Error): boolean {
  return failureCount < 2 && !(error instanceof ApiError);
}
