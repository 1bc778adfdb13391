"""A second factor: time-based one-time codes (TOTP, RFC 6238) with recovery codes.

Enrolment is two steps, so a user can't lock themselves out with a secret their
authenticator never saw: ``enroll`` stores a fresh secret and ten recovery codes but
leaves the factor off; ``confirm`` with a code from the authenticator turns it on.

Each code works once. Recovery codes are kept as SHA-256 (``mfa_recovery_codes``) and
spent by a compare-and-set on their ``used`` column. A TOTP code stays valid for its
30 s step and one step either side (clock drift), so a code seen over someone's shoulder
could be replayed within that window; each accepted step is therefore written to the
same table as a spent one-time code (a row keyed by the user and the step, ``used``
set), inserted so that a second insert of the same step is a no-op: two sign-ins with
the same code, even on two API worker processes at once, can't both succeed. Spent rows
are purged once no code they could match is valid any more.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cloudenv import clock
from cloudenv.errors import Conflict, InvalidInput, NotFound
from cloudenv.services import audit
from cloudenv.services.access import Principal
from cloudenv.store.tables import RecoveryCode, User

ISSUER = "cloudenv"
RECOVERY_CODE_COUNT = 10
#: Steps either side of now whose code is accepted (30 s each).
DRIFT_STEPS = 1
#: Spent codes older than this can't match any valid code any more.
SPENT_KEPT = timedelta(minutes=5)
_RECOVERY_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"

ENROLL_ACTION = "auth.mfa_enroll"
CONFIRM_ACTION = "auth.mfa_confirm"
DISABLE_ACTION = "auth.mfa_disable"


@dataclass(frozen=True)
class Enrolment:
    secret: str
    otpauth_uri: str
    recovery_codes: list[str]


def own_user(db: Session, principal: Principal) -> User:
    """The caller's own user row (the node itself has none)."""
    user = db.get(User, principal.user_id) if principal.user_id else None
    if user is None:
        raise NotFound("Only a signed-in user has a second factor.")
    return user


def enroll(db: Session, principal: Principal) -> Enrolment:
    """A fresh secret and recovery codes for the caller, pending until confirmed."""
    user = own_user(db, principal)
    if user.mfa_enabled:
        raise Conflict(
            f"{user.username} already signs in with a one-time code; disable it first "
            "(POST /api/v1/auth/mfa/disable) to enroll a new authenticator."
        )
    user.mfa_secret = pyotp.random_base32()
    codes = _new_recovery_codes(db, user)
    audit.record(db, principal, ENROLL_ACTION, target_id=user.id, message="pending confirmation")
    uri = pyotp.TOTP(user.mfa_secret).provisioning_uri(name=user.username, issuer_name=ISSUER)
    return Enrolment(user.mfa_secret, uri, codes)


def confirm(db: Session, principal: Principal, code: str) -> None:
    """Turn the pending enrolment on, proven by a code of the new authenticator."""
    user = own_user(db, principal)
    if user.mfa_enabled:
        raise Conflict(f"{user.username} already signs in with a one-time code.")
    if not user.mfa_secret:
        raise Conflict(
            "There is no enrolment to confirm; start one with POST /api/v1/auth/mfa/enroll."
        )
    if not _spend_totp(db, user, code, clock.now()):
        raise InvalidInput(
            "The code is wrong, expired or already used; enter the current code your "
            "authenticator app shows for cloudenv.",
            field="code",
        )
    user.mfa_enabled = True
    audit.record(db, principal, CONFIRM_ACTION, target_id=user.id)


def disable(
    db: Session, principal: Principal, user: User, *, code: str | None, password_proven: bool
) -> None:
    """Turn the caller's second factor off (and forget its secret and recovery codes),
    proven by a current code (or a recovery code) or by the password (checked by the
    caller, ``auth.disable_mfa``)."""
    if not user.mfa_enabled and not user.mfa_secret:
        raise Conflict(f"{user.username} does not sign in with a one-time code.")
    if not password_proven and (code is None or not check_code(db, user, code, clock.now())):
        raise InvalidInput(
            "The code is wrong, expired or already used; send a current code or a "
            "recovery code, or the password.",
            field="code",
        )
    user.mfa_enabled = False
    user.mfa_secret = None
    db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    audit.record(db, principal, DISABLE_ACTION, target_id=user.id)


def check_code(db: Session, user: User, code: str, now: datetime) -> bool:
    """Spend ``code``, a TOTP code (six digits) or a recovery code; whether it was good."""
    code = code.strip().replace(" ", "")
    if code.isdigit():
        return _spend_totp(db, user, code, now)
    return _spend_recovery_code(db, user, code, now)


def recovery_codes_left(db: Session, user_id: str) -> int:
    return int(
        db.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == user_id, RecoveryCode.used.is_(None))
        )
        or 0
    )


def _new_recovery_codes(db: Session, user: User) -> list[str]:
    db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.add(RecoveryCode(code_hash=_recovery_hash(user.id, raw), user_id=user.id))
    return codes


def _recovery_hash(user_id: str, normalized: str) -> str:
    # Keyed by the user, so equal codes of two users are two rows, and a code is good only
    # for the user it was given to.
    return hashlib.sha256(f"recovery:{user_id}:{normalized}".encode()).hexdigest()


def _spend_recovery_code(db: Session, user: User, code: str, now: datetime) -> bool:
    normalized = code.lower().replace("-", "")
    if len(normalized) != 10:
        return False
    spent = db.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.code_hash == _recovery_hash(user.id, normalized),
            RecoveryCode.user_id == user.id,
            RecoveryCode.used.is_(None),
        )
        .values(used=now)
    )
    return int(spent.rowcount) == 1  # type: ignore[attr-defined]


def _spend_totp(db: Session, user: User, code: str, now: datetime) -> bool:
    if not user.mfa_secret or len(code) != 6 or not code.isdigit():
        return False
    totp = pyotp.TOTP(user.mfa_secret)
    current = totp.timecode(now)
    step = next(
        (
            s
            for s in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1)
            if hmac.compare_digest(totp.generate_otp(s), code)
        ),
        None,
    )
    if step is None:
        return False
    db.execute(
        delete(RecoveryCode).where(
            RecoveryCode.user_id == user.id, RecoveryCode.used < now - SPENT_KEPT
        )
    )
    return _insert_spent(db, user.id, f"totp:{user.id}:{step}", now)


def _insert_spent(db: Session, user_id: str, key: str, now: datetime) -> bool:
    """Record a spent step; False when it was already recorded (a replay)."""
    digest = hashlib.sha256(key.encode()).hexdigest()
    dialect = db.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(RecoveryCode)
        .values(code_hash=digest, user_id=user_id, used=now)
        .on_conflict_do_nothing(index_elements=["code_hash"])
        # The row back means it was inserted (an ORM insert's rowcount is -1 on psycopg).
        .returning(RecoveryCode.code_hash)
    )
    return db.execute(statement).first() is not None


def is_enabled(db: Session, user_id: str | None) -> bool:
    """Whether ``user_id`` signs in with a second factor (False for the node itself)."""
    user = db.get(User, user_id) if user_id else None
    return bool(user and user.mfa_enabled)
