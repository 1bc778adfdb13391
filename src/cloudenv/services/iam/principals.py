"""Building a ``Principal`` from a user row: the one place a caller's policies are read
and compiled.

Compiling is cached per set of (policy, revision), so a request pays one small query for
the user's policy IDs and revisions; a policy's statements are read again only after it
changed (its revision moved) or on a process's first sight of it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from threading import Lock

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from cloudenv.services.access import Principal
from cloudenv.services.iam import builtin
from cloudenv.services.iam.policy import CompiledPolicy, Statement, parse_statements
from cloudenv.store.tables import Organization, Policy, User, UserPolicy

_Key = tuple[tuple[str, int], ...]
_compiled: dict[_Key, CompiledPolicy] = {}
_lock = Lock()
#: Compiled sets kept per process; a deployment has few distinct ones.
_MAX_CACHED = 1024


def principal_for(
    db: Session,
    user: User,
    is_root_org: bool,
    source_address: str | None = None,
    *,
    mfa_required: bool | None = None,
) -> Principal:
    orgs = None if mfa_required is None else ({user.organization_id} if mfa_required else set())
    return principals_for(db, [(user, is_root_org)], source_address, mfa_orgs=orgs)[user.id]


def principals_for(
    db: Session,
    users: Sequence[tuple[User, bool]],
    source_address: str | None = None,
    *,
    mfa_orgs: Collection[str] | None = None,
) -> dict[str, Principal]:
    """Principals for several users at once (open event streams are re-checked
    together): one query for all their policy assignments. ``mfa_orgs``: which of their
    organizations require a second factor, when the caller already read it (else one
    more query, only for users without one)."""
    keys = _policy_keys(db, [u.id for u, _ in users if not u.is_root])
    if mfa_orgs is None:
        mfa_orgs = _requiring_mfa(db, {u.organization_id for u, _ in users if not u.mfa_enabled})
    return {
        user.id: Principal(
            user_id=user.id,
            username=user.username,
            organization_id=user.organization_id,
            is_root_org=is_root_org,
            is_root_user=user.is_root,
            source_address=source_address,
            policy=None if user.is_root else compiled(db, keys.get(user.id, ())),
            linux_user=user.linux_user,
            must_change_password=user.temporary_password and not user.external,
            must_enroll_mfa=not user.mfa_enabled and user.organization_id in mfa_orgs,
        )
        for user, is_root_org in users
    }


#: Every signed-in request runs this: built once (building a select costs more than
#: running it), run on the connection (the ORM's result machinery doubles the cost of a
#: few plain rows).
_POLICY_KEYS = (
    select(UserPolicy.user_id, UserPolicy.policy_id, Policy.revision)
    .outerjoin(Policy, Policy.id == UserPolicy.policy_id)
    .where(UserPolicy.user_id.in_(bindparam("user_ids", expanding=True)))
    .order_by(UserPolicy.user_id, UserPolicy.position, UserPolicy.policy_id)
)


def _requiring_mfa(db: Session, organization_ids: set[str]) -> set[str]:
    if not organization_ids:
        return set()
    return set(
        db.scalars(
            select(Organization.id).where(
                Organization.id.in_(organization_ids), Organization.require_mfa
            )
        )
    )


def _policy_keys(db: Session, user_ids: Iterable[str]) -> dict[str, _Key]:
    ids = list(user_ids)
    if not ids:
        return {}
    rows = db.connection().execute(_POLICY_KEYS, {"user_ids": ids})
    keys: dict[str, list[tuple[str, int]]] = {}
    builtins = builtin.by_id()
    for user_id, policy_id, revision in rows:
        if revision is None and policy_id not in builtins:
            continue  # a policy deleted under a stale assignment grants nothing
        keys.setdefault(user_id, []).append((policy_id, revision or 0))
    return {user_id: tuple(key) for user_id, key in keys.items()}


def compiled(db: Session, key: _Key) -> CompiledPolicy:
    """The compiled policy for the (policy, revision) set ``key``."""
    with _lock:
        found = _compiled.get(key)
    if found is not None:
        return found
    builtins = builtin.by_id()
    stored = {
        row.id: row.statements
        for row in db.execute(
            select(Policy.id, Policy.statements).where(
                Policy.id.in_([pid for pid, _ in key if pid not in builtins])
            )
        )
    }
    statements: list[Statement] = []
    for policy_id, _ in key:
        if policy_id in builtins:
            statements.extend(builtins[policy_id].statements)
        elif policy_id in stored:
            statements.extend(parse_statements(stored[policy_id], None))
    policy = CompiledPolicy(statements, identity=key)
    with _lock:
        if len(_compiled) >= _MAX_CACHED:
            _compiled.clear()
        _compiled[key] = policy
    return policy
