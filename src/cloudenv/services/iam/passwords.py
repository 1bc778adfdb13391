"""The password rule, random passwords, and a user changing their own password.

The rule follows NIST SP 800-63B (section 5.1.1.2): length is what makes a password
strong, so there is a minimum length (12) and a generous maximum (256, enough for any
pass phrase or password manager), and no composition rules (no "an upper-case letter and
a digit"), which only push people to ``Password1!``. A password is refused when it holds
the user name, or when it is a commonly used password: one of the 30,000 most frequent
passwords in breach corpora, as the ``zxcvbn`` package ships them (a maintained list, not
typed here), also when merely wrapped in digits or symbols (``Summer2024!!`` is
``summer``). The message says which rule failed and never repeats the password: refusals
are audited with their message.
"""

from __future__ import annotations

import secrets
import string
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete
from sqlalchemy.orm import Session

from cloudenv.errors import Conflict, InvalidInput, NotFound
from cloudenv.services import audit, auth
from cloudenv.services.access import Principal
from cloudenv.store.queries import iam as q
from cloudenv.store.tables import Session_

MIN_LENGTH = 12
MAX_LENGTH = 256
#: Generated passwords: 24 characters of 62 kinds, about 143 bits.
RANDOM_LENGTH = 24
_RANDOM_ALPHABET = string.ascii_letters + string.digits
#: What people wrap around a common password to get past a rule.
_DECORATION = string.digits + string.punctuation + string.whitespace

# Verifying reads the cost parameters from the stored hash, so any hasher verifies any
# hash; hashing new passwords goes through ``auth.hash_password`` (the one cost setting).
_verifier = PasswordHasher()


@cache
def common_passwords() -> frozenset[str]:
    """The bundled list of common passwords, lower-cased; read on first use (about 0.2 s
    and a few MB), once per process."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(word.lower() for word in FREQUENCY_LISTS["passwords"])


def check_password(password: str, username: str, *, field: str = "password") -> None:
    """InvalidInput naming ``field`` and the rule, unless ``password`` is acceptable for
    the user ``username``."""
    length = len(password)
    if length < MIN_LENGTH:
        raise InvalidInput(
            f"The password is too short: it has {length} characters and needs at least "
            f"{MIN_LENGTH}. Length makes a password strong: a few unrelated words are long "
            "and easy to remember.",
            field=field,
        )
    if length > MAX_LENGTH:
        raise InvalidInput(
            f"The password is too long: it has {length} characters; at most {MAX_LENGTH} "
            "are allowed.",
            field=field,
        )
    lowered = password.lower()
    if username and username.lower() in lowered:
        raise InvalidInput(
            f"The password contains the user name {username}; choose one that does not.",
            field=field,
        )
    if _is_common(lowered):
        raise InvalidInput(
            "The password is a commonly used one (it is on the list of passwords most often "
            "found in breaches, possibly with digits or symbols around it); choose another.",
            field=field,
        )


def _is_common(lowered: str) -> bool:
    common = common_passwords()
    core = lowered.strip(_DECORATION)
    return lowered in common or (bool(core) and core in common)


def random_password(username: str = "") -> str:
    """A new password from the system's CSPRNG, that passes :func:`check_password`."""
    while True:
        password = "".join(secrets.choice(_RANDOM_ALPHABET) for _ in range(RANDOM_LENGTH))
        try:
            check_password(password, username)
        except InvalidInput:  # it held the user name: vanishingly rare, draw again
            continue
        return password


def verify(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash`` (False for no hash)."""
    if not stored_hash:
        return False
    try:
        return _verifier.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def change_own_password(
    db: Session,
    principal: Principal,
    *,
    current_password: str,
    new_password: str,
    current_token: str | None,
) -> None:
    """The signed-in user sets a new password, proving the current one. This is also how
    a temporary password is replaced. The user's other sessions end (whoever else held
    one knew the old password); the calling one stays."""
    user = q.get_user(db, principal.user_id or "", scope=None)
    if user is None:
        raise NotFound("Only a signed-in user has a password to change.")
    if user.external:
        raise Conflict(
            f"User {user.username} signs in through an external provider; change the "
            "password there."
        )
    if not verify(user.password_hash, current_password):
        raise InvalidInput("The current password is wrong.", field="current_password")
    if new_password == current_password:
        raise InvalidInput(
            "The new password is the current one; choose a different one.", field="new_password"
        )
    check_password(new_password, user.username, field="new_password")
    user.password_hash = auth.hash_password(new_password)
    user.temporary_password = False
    end_sessions(db, user.id, keep_token=current_token)
    audit.record(db, principal, "auth.password", target_id=user.id)


def end_sessions(db: Session, user_id: str, *, keep_token: str | None = None) -> None:
    """End ``user_id``'s sign-in sessions after a password change, but ``keep_token``'s."""
    stmt = delete(Session_).where(Session_.user_id == user_id)
    if keep_token:
        stmt = stmt.where(Session_.token_hash != auth.token_hash(keep_token))
    db.execute(stmt)
