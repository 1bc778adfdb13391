"""The one error hierarchy of cloudenv.

Every layer raises these; the API renders them as ``{"code", "message", "field"}``
with the HTTP status of the class, the CLI prints the message. A message names the
object, the problem and the remedy, in words a user understands: never Python
names, SQL or tracebacks.

    CloudenvError                      500
    ├── InvalidInput(field=...)        400   bad value; nothing was changed
    ├── NotAuthenticated               401   no or invalid credentials
    ├── Forbidden                      403   authenticated, but not allowed
    ├── NotFound                       404   also: exists, but not visible to the caller
    ├── Conflict                       409   state forbids it (non-empty, busy, duplicate)
    ├── TooManyRequests                429   a limit reached (streams, uploads, sign-ins);
    │                                        ``retry_after`` becomes Retry-After
    ├── SetupError                           local set-up (init/serve) refused; CLI only
    └── DriverError                    502   a real component (libvirt, OVS, ...) failed
"""

from __future__ import annotations


class CloudenvError(Exception):
    """Base of every error cloudenv raises on purpose."""

    status: int = 500

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        keep_changes: bool = False,
        details: list[dict[str, object]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        # Per-item outcomes of a request about many items (an import's rows), rendered
        # as the error body's ``details``.
        self.details = details
        # True when what the service wrote before refusing must still be committed,
        # e.g. a failed sign-in attempt that counts towards a lockout.
        self.keep_changes = keep_changes


class InvalidInput(CloudenvError):
    """A value the caller sent breaks a rule; ``field`` names which one."""

    status = 400


class NotAuthenticated(CloudenvError):
    """The request carries no valid session cookie or API token."""

    status = 401


class Forbidden(CloudenvError):
    """The caller is known but may not do this."""

    status = 403


class NotFound(CloudenvError):
    """No such object, or one the caller may not see (never revealed as 403)."""

    status = 404


class Conflict(CloudenvError):
    """The object's state forbids the action: not empty, busy, a duplicate name."""

    status = 409


class TooManyRequests(CloudenvError):
    """The caller holds as many of something (streams, uploads) as one user may at once,
    or asks faster than is allowed (sign-ins); ``retry_after`` is the seconds after which
    asking again may succeed, sent as the ``Retry-After`` header when known."""

    status = 429

    def __init__(
        self, message: str, *, field: str | None = None, retry_after: int | None = None
    ) -> None:
        super().__init__(message, field=field)
        self.retry_after = retry_after


class SetupError(CloudenvError):
    """Local set-up refused: data dir already initialized, missing EULA, weak password."""

    status = 400


class DriverError(CloudenvError):
    """A real component (libvirt, Open vSwitch, the host) failed; the message says which."""

    status = 502
