"""Failed sign-ins: accounts locked after too many, addresses throttled after too many,
and the organization's settings for both.

Where failures are counted: in the audit trail, which already holds one row per failed
sign-in (its time, the user tried, the source address), written in the sign-in's own
transaction. Counting there needs no table of its own and, unlike a window in memory,
holds across the API's worker processes (a node runs one per core, and a guesser's
connections are spread over them) and across restarts. Only rows whose message starts
with :data:`WRONG` count: a wrong password or one-time code, never a right password
refused for another reason (disabled, expired, a second factor still to send).

- An **account** locks for ``lockout_minutes`` once ``lockout_threshold`` failures fall
  within ``lockout_window_minutes`` (its organization's settings), counted since the
  user's last successful sign-in, the end of their last lockout and the last time an
  administrator cleared their failures. A lockout is a row
  of ``user_lockouts``; it ends by itself at ``until`` or when an administrator clears
  it (``DELETE /v1/users/{id}/lockout``).
- An **address** that made :data:`ADDRESS_LIMIT` failures within :data:`ADDRESS_WINDOW`
  is answered 429 with ``Retry-After`` before any password is hashed; those refusals
  are not written to the audit trail (the API only counts them), so a flood writes
  nothing and the throttle ends on time.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, func, select, update
from sqlalchemy.orm import Session

from cloudenv import clock
from cloudenv.errors import InvalidInput, NotFound, TooManyRequests
from cloudenv.services import audit
from cloudenv.services.access import Action, Principal, authorize
from cloudenv.services.iam.targets import user_for
from cloudenv.services.partial import KEEP, Keep
from cloudenv.store.queries import tenancy as tq
from cloudenv.store.tables import AuditRecord, Lockout, Organization, User

#: The start of every counted failure's audit message ("Wrong password for 'bob'.").
WRONG = "Wrong "
#: Failed sign-ins from one address that throttle it, and the window they are counted in.
ADDRESS_LIMIT = 20
ADDRESS_WINDOW = timedelta(minutes=15)
#: The settings' bounds (minutes up to a day).
MAX_THRESHOLD = 100
MAX_MINUTES = 24 * 60

LOGIN_ACTION = "auth.login"
LOCKOUT_ACTION = "auth.lockout"
SECURITY_UPDATE_ACTION = "organization.security_update"


def _failures() -> ColumnElement[bool]:
    """The audit rows that count: failed sign-ins with a wrong password or code."""
    return and_(
        AuditRecord.action == LOGIN_ACTION,
        AuditRecord.outcome == "failure",
        AuditRecord.message.startswith(WRONG, autoescape=True),
    )


# Addresses ---------------------------------------------------------------------------------


def check_address(db: Session, address: str | None, now: datetime) -> None:
    """TooManyRequests (with Retry-After) when ``address`` made ADDRESS_LIMIT failures
    within ADDRESS_WINDOW; nothing is hashed before this passes."""
    if not address:
        return
    times = list(
        db.scalars(
            select(AuditRecord.time)
            .where(
                AuditRecord.time > now - ADDRESS_WINDOW,
                AuditRecord.source_address == address,
                _failures(),
            )
            .order_by(AuditRecord.time.desc())
            .limit(ADDRESS_LIMIT)
        )
    )
    if len(times) < ADDRESS_LIMIT:
        return
    # Signing in is possible again once the oldest of these leaves the window.
    seconds = max(1, math.ceil((times[-1] + ADDRESS_WINDOW - now).total_seconds()))
    raise TooManyRequests(
        f"Too many failed sign-ins from {address}; try again in {seconds} s.",
        retry_after=seconds,
    )


# Accounts ----------------------------------------------------------------------------------


def active_lockout(db: Session, user_id: str, now: datetime) -> Lockout | None:
    return db.scalar(
        select(Lockout)
        .where(Lockout.user_id == user_id, Lockout.cleared.is_(None), Lockout.until > now)
        .order_by(Lockout.until.desc())
        .limit(1)
    )


def locked_out_user_ids(db: Session, user_ids: Collection[str]) -> set[str]:
    """Which of ``user_ids`` are locked out now (for user lists)."""
    if not user_ids:
        return set()
    return set(
        db.scalars(
            select(Lockout.user_id).where(
                Lockout.user_id.in_(list(user_ids)),
                Lockout.cleared.is_(None),
                Lockout.until > clock.now(),
            )
        )
    )


def after_failure(db: Session, user: User, now: datetime, address: str | None) -> Lockout | None:
    """Lock ``user`` if this failure (already in the audit trail of this transaction) made
    their organization's threshold; the new lockout, else None."""
    if active_lockout(db, user.id, now) is not None:
        return None  # failures while locked neither extend the lock nor count later
    org = db.get_one(Organization, user.organization_id)
    since = _counting_since(db, user, now - timedelta(minutes=org.lockout_window_minutes))
    failures = int(
        db.scalar(
            select(func.count())
            .select_from(AuditRecord)
            .where(AuditRecord.time > since, AuditRecord.target_id == user.id, _failures())
        )
        or 0
    )
    # ``failed_logins`` counts the same failures since the last success or unlock (both
    # reset it); the audit rows, those within the window. Both are the latest failures,
    # so the smaller count is those in the window since the reset.
    failures = min(failures, user.failed_logins)
    if failures < org.lockout_threshold:
        return None
    lockout = Lockout(
        user_id=user.id,
        organization_id=user.organization_id,
        locked_at=now,
        until=now + timedelta(minutes=org.lockout_minutes),
        failures=failures,
        source_address=address,
    )
    db.add(lockout)
    audit.record(
        db,
        None,
        LOCKOUT_ACTION,
        target_id=user.id,
        organization_id=user.organization_id,
        outcome="failure",
        status_code=401,
        message=(
            f"{user.username} locked out for {org.lockout_minutes} min after {failures} "
            f"failed sign-ins within {org.lockout_window_minutes} min"
        ),
        source_address=address,
    )
    return lockout


def _counting_since(db: Session, user: User, window_start: datetime) -> datetime:
    """Failures count from the latest of: the window's start, the last successful sign-in,
    the end of the last lockout (lapsed or cleared)."""
    since = window_start
    if user.last_login is not None:
        since = max(since, user.last_login)
    last = db.scalar(
        select(func.max(func.coalesce(Lockout.cleared, Lockout.until))).where(
            Lockout.user_id == user.id
        )
    )
    return since if last is None else max(since, last)


def unlock(db: Session, principal: Principal, user_id: str) -> None:
    """Clear ``user_id``'s active lockouts and failure count (``user.unlock``)."""
    # Not self-service: a token's holder must not lift the lock its guesses earned.
    user = user_for(db, principal, user_id, Action.USER_UNLOCK, self_allowed=False)
    now = clock.now()
    cleared = db.execute(
        update(Lockout)
        .where(Lockout.user_id == user.id, Lockout.cleared.is_(None), Lockout.until > now)
        .values(cleared=now, cleared_by=principal.username)
    )
    user.failed_logins = 0
    count = int(cleared.rowcount)  # type: ignore[attr-defined]
    audit.record(
        db,
        principal,
        Action.USER_UNLOCK.value,
        target_id=user.id,
        organization_id=user.organization_id,
        message=f"{count} active lockout(s) of {user.username} cleared",
    )


@dataclass(frozen=True)
class LockoutView:
    id: int
    user_id: str
    username: str
    locked_at: datetime
    until: datetime
    failures: int
    source_address: str | None
    active: bool


def list_lockouts(
    db: Session, principal: Principal, organization_id: str, *, entries: int, page: int
) -> list[LockoutView]:
    """The organization's lockouts, active ones first, then newest first."""
    org = _organization(db, principal, organization_id)
    authorize(principal, Action.LOCKOUT_READ, org.id)
    now = clock.now()
    active = and_(Lockout.cleared.is_(None), Lockout.until > now)
    rows = db.execute(
        select(Lockout, User.username, case((active, 0), else_=1).label("ended"))
        .join(User, User.id == Lockout.user_id)
        .where(Lockout.organization_id == org.id)
        .order_by("ended", Lockout.locked_at.desc(), Lockout.id.desc())
        .limit(entries)
        .offset((page - 1) * entries)
    )
    return [
        LockoutView(
            id=lockout.id,
            user_id=lockout.user_id,
            username=username,
            locked_at=lockout.locked_at,
            until=lockout.until,
            failures=lockout.failures,
            source_address=lockout.source_address,
            active=not ended,
        )
        for lockout, username, ended in rows
    ]


# The organization's settings ---------------------------------------------------------------


@dataclass(frozen=True)
class SignInSecurity:
    require_mfa: bool
    lockout_threshold: int
    lockout_window_minutes: int
    lockout_minutes: int


def get_security(db: Session, principal: Principal, organization_id: str) -> SignInSecurity:
    org = _organization(db, principal, organization_id)
    authorize(principal, Action.ORGANIZATION_READ, org.id)
    return _security(org)


def update_security(
    db: Session,
    principal: Principal,
    organization_id: str,
    *,
    require_mfa: bool | Keep = KEEP,
    lockout_threshold: int | Keep = KEEP,
    lockout_window_minutes: int | Keep = KEEP,
    lockout_minutes: int | Keep = KEEP,
) -> SignInSecurity:
    org = _organization(db, principal, organization_id)
    authorize(principal, Action.ORGANIZATION_UPDATE, org.id)
    limits = {
        "lockout_threshold": (lockout_threshold, MAX_THRESHOLD, "failed sign-ins"),
        "lockout_window_minutes": (lockout_window_minutes, MAX_MINUTES, "minutes"),
        "lockout_minutes": (lockout_minutes, MAX_MINUTES, "minutes"),
    }
    for field, (value, most, unit) in limits.items():
        if not isinstance(value, Keep) and not 1 <= value <= most:
            raise InvalidInput(
                f"'{field}' must be from 1 to {most} {unit}, not {value}.", field=field
            )
    changed = []
    if not isinstance(require_mfa, Keep) and require_mfa != org.require_mfa:
        org.require_mfa = require_mfa
        changed.append(f"require_mfa={require_mfa}")
    for field, (value, _, _) in limits.items():
        if not isinstance(value, Keep) and value != getattr(org, field):
            setattr(org, field, value)
            changed.append(f"{field}={value}")
    audit.record(
        db,
        principal,
        SECURITY_UPDATE_ACTION,
        target_id=org.id,
        organization_id=org.id,
        message=", ".join(changed) or "nothing changed",
    )
    return _security(org)


def _security(org: Organization) -> SignInSecurity:
    return SignInSecurity(
        require_mfa=org.require_mfa,
        lockout_threshold=org.lockout_threshold,
        lockout_window_minutes=org.lockout_window_minutes,
        lockout_minutes=org.lockout_minutes,
    )


def _organization(db: Session, principal: Principal, organization_id: str) -> Organization:
    org = tq.get_organization(db, organization_id, principal.scope)
    if org is None:
        raise NotFound(f"Organization {organization_id} does not exist.", field="id")
    return org
