"""IAM policies as an organization manages them: the built-in ones (read-only, the same in
every organization) and the organization's own, created, edited and deleted here.

Every change bumps the policy's ``revision``: principals are compiled per (policy,
revision) set (``services.iam.principals``), so a user's next request is judged by the
new statements without any cache being told. A policy some user holds can't be deleted:
taking it away silently would change what they may do without anyone deciding so; the
refusal names the holders, and their policies are changed first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from cloudenv import clock
from cloudenv.errors import Conflict, InvalidInput, NotFound
from cloudenv.ids import Prefix, new_id
from cloudenv.services import audit
from cloudenv.services.access import Action, Principal, authorize
from cloudenv.services.iam import builtin
from cloudenv.services.iam.policy import Statement, parse_statements
from cloudenv.services.partial import KEEP, Keep
from cloudenv.services.validation import POLICY_NAME, check_description
from cloudenv.store.queries import policies as q
from cloudenv.store.queries import tenancy as tenancy_queries
from cloudenv.store.tables import Organization, Policy

#: How many holders a refused delete names (then "and N more").
HOLDERS_NAMED = 5


@dataclass(frozen=True)
class ActionInfo:
    """One action of the vocabulary, as the policy editor offers it."""

    action: str
    area: str
    reads: bool


@dataclass(frozen=True)
class PolicyView:
    id: str
    #: None for a built-in policy: every organization has it.
    organization_id: str | None
    name: str
    description: str
    statements: list[dict[str, Any]]
    builtin: bool
    creation: datetime | None
    user_count: int


def action_vocabulary() -> list[ActionInfo]:
    """Every action a statement may name, in the vocabulary's order (by area)."""
    return [ActionInfo(a.value, a.area, a.reads) for a in Action]


def known_actions() -> list[str]:
    return [a.value for a in Action]


def list_policies(
    db: Session, principal: Principal, organization_id: str | None = None
) -> list[PolicyView]:
    """The built-in policies, then the organization's own by name; ``user_count`` counts
    the organization's users holding each. The caller's organization by default."""
    org = _organization(db, principal, organization_id)
    authorize(principal, Action.POLICY_LIST, org.id)
    own = q.policies(db, org.id)
    ids = [p.id for p in builtin.BUILTIN] + [p.id for p in own]
    counts = q.holder_counts(db, ids, principal.scope, organization_id=org.id)
    return [_builtin_view(p, counts.get(p.id, 0)) for p in builtin.BUILTIN] + [
        _view(p, counts.get(p.id, 0)) for p in own
    ]


def get_policy(db: Session, principal: Principal, policy_id: str) -> PolicyView:
    """One policy; a built-in one counts the holders the caller sees."""
    found = builtin.by_id().get(policy_id)
    if found is not None:
        authorize(principal, Action.POLICY_READ, principal.organization_id, (policy_id,))
        counts = q.holder_counts(db, [policy_id], principal.scope)
        return _builtin_view(found, counts.get(policy_id, 0))
    policy = _load(db, principal, policy_id)
    authorize(principal, Action.POLICY_READ, policy.organization_id, (policy.id,))
    return _view(policy, _count(db, principal, policy))


def create_policy(
    db: Session,
    principal: Principal,
    *,
    organization_id: str | None,
    name: str,
    description: str = "",
    statements: Sequence[Mapping[str, Any]],
) -> Policy:
    org = _organization(db, principal, organization_id, field="organization_id")
    authorize(principal, Action.POLICY_CREATE, org.id)
    _check_name(db, org.id, name)
    check_description(description)
    parsed = parse_statements(statements, known_actions())
    policy = Policy(
        id=new_id(Prefix.POLICY),
        organization_id=org.id,
        name=name,
        description=description,
        statements=_stored(parsed),
        revision=1,
        creation=clock.now(),
    )
    db.add(policy)
    db.flush()
    _audit(db, principal, Action.POLICY_CREATE, policy)
    return policy


def update_policy(
    db: Session,
    principal: Principal,
    policy_id: str,
    *,
    name: str | Keep = KEEP,
    description: str | Keep = KEEP,
    statements: Sequence[Mapping[str, Any]] | Keep = KEEP,
) -> PolicyView:
    policy = _changeable(db, principal, policy_id, Action.POLICY_UPDATE, "changed")
    if not isinstance(name, Keep) and name != policy.name:
        _check_name(db, policy.organization_id, name, but=policy.id)
        policy.name = name
    if not isinstance(description, Keep):
        policy.description = check_description(description)
    if not isinstance(statements, Keep):
        policy.statements = _stored(parse_statements(statements, known_actions()))
    policy.revision += 1
    _audit(db, principal, Action.POLICY_UPDATE, policy)
    return _view(policy, _count(db, principal, policy))


def delete_policy(db: Session, principal: Principal, policy_id: str) -> None:
    policy = _changeable(db, principal, policy_id, Action.POLICY_DELETE, "deleted")
    holders = q.holder_names(db, policy.id, HOLDERS_NAMED + 1)
    if holders:
        count = q.holder_counts(db, [policy.id], None).get(policy.id, len(holders))
        named = ", ".join(holders[:HOLDERS_NAMED])
        more = f" and {count - HOLDERS_NAMED} more" if count > HOLDERS_NAMED else ""
        raise Conflict(
            f"Policy {policy.name} ({policy.id}) is held by {count} user(s): {named}{more}. "
            "Take it from them first (PUT /api/v1/users/{id}/policies), so that no one's "
            "permissions change without a decision."
        )
    _audit(db, principal, Action.POLICY_DELETE, policy)
    db.delete(policy)


# --- helpers ----------------------------------------------------------------------------


def _organization(
    db: Session,
    principal: Principal,
    organization_id: str | None,
    *,
    field: str = "organization_id",
) -> Organization:
    wanted = organization_id or principal.organization_id
    if wanted is None:
        raise InvalidInput("Give the organization (organization_id).", field=field)
    org = tenancy_queries.get_organization(db, wanted, principal.scope)
    if org is None:
        raise NotFound(f"Organization {wanted} does not exist.", field=field)
    return org


def _load(db: Session, principal: Principal, policy_id: str) -> Policy:
    policy = q.get_policy(db, policy_id, principal.scope)
    if policy is None:
        raise NotFound(f"Policy {policy_id} does not exist.", field="id")
    return policy


def _changeable(
    db: Session, principal: Principal, policy_id: str, action: Action, verb: str
) -> Policy:
    """The organization's own policy to change, after the caller's permission; a
    built-in one is refused (409) with what to do instead."""
    found = builtin.by_id().get(policy_id)
    if found is not None:
        authorize(principal, action, principal.organization_id, (policy_id,))
        raise Conflict(
            f"{found.name} is a built-in policy; it can't be {verb}. Create a policy of "
            "your own (its statements may start from the built-in one's) and give users "
            "that one instead.",
            field="id",
        )
    policy = _load(db, principal, policy_id)
    authorize(principal, action, policy.organization_id, (policy.id,))
    return policy


def _check_name(db: Session, organization_id: str, name: str, but: str = "") -> None:
    POLICY_NAME.check(name)
    clash = next((p for p in builtin.BUILTIN if p.name.lower() == name.lower()), None)
    if clash is not None:
        raise Conflict(
            f"{clash.name} is the name of a built-in policy; choose another name.", field="name"
        )
    if q.name_taken(db, organization_id, name, but=but):
        raise Conflict(
            f"The organization already has a policy named {name!r}; choose another name.",
            field="name",
        )


def _stored(statements: Sequence[Statement]) -> list[dict[str, Any]]:
    """Statements as the store keeps them: their checked, normalized form."""
    return [s.as_dict() for s in statements]


def _count(db: Session, principal: Principal, policy: Policy) -> int:
    return q.holder_counts(db, [policy.id], principal.scope).get(policy.id, 0)


def _out(statements: Sequence[Statement] | Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Statements on the wire: always with ``rules`` (empty when none)."""
    raw = [s.as_dict() if isinstance(s, Statement) else dict(s) for s in statements]
    return [{**s, "rules": s.get("rules", [])} for s in raw]


def _builtin_view(policy: builtin.BuiltinPolicy, user_count: int) -> PolicyView:
    return PolicyView(
        id=policy.id,
        organization_id=None,
        name=policy.name,
        description=policy.description,
        statements=_out(policy.statements),
        builtin=True,
        creation=None,
        user_count=user_count,
    )


def _view(policy: Policy, user_count: int) -> PolicyView:
    return PolicyView(
        id=policy.id,
        organization_id=policy.organization_id,
        name=policy.name,
        description=policy.description,
        statements=_out(policy.statements),
        builtin=False,
        creation=policy.creation,
        user_count=user_count,
    )


def _audit(db: Session, principal: Principal, action: Action, policy: Policy) -> None:
    audit.record(db, principal, action, target_id=policy.id, organization_id=policy.organization_id)
