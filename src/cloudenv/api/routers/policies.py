"""IAM policies: the action vocabulary, an organization's policies (the built-in ones
first), and its own policies created, edited and deleted."""

from __future__ import annotations

from fastapi import APIRouter

from cloudenv.api.deps import CurrentPrincipal, Db
from cloudenv.api.schemas.common import Created, Empty
from cloudenv.api.schemas.policies import (
    ActionInfo,
    Policy,
    PolicyCreate,
    PolicyUpdate,
    statements_of,
)
from cloudenv.errors import InvalidInput
from cloudenv.services.iam import policies
from cloudenv.services.partial import KEEP

router = APIRouter(prefix="/v1/policies", tags=["policies"])


@router.get("/actions", response_model=list[ActionInfo], name="policy.actions")
def list_actions(principal: CurrentPrincipal) -> list[ActionInfo]:
    """Every action a statement may name: what the policy editor offers and what a
    refused statement's message points to."""
    return [ActionInfo.model_validate(a) for a in policies.action_vocabulary()]


@router.get("", response_model=list[Policy], name="policy.list")
def list_policies(
    db: Db, principal: CurrentPrincipal, organization_id: str | None = None
) -> list[Policy]:
    """The built-in policies, then the organization's own (the caller's organization
    unless ``organization_id`` names another it sees): a bare array."""
    return [
        Policy.model_validate(p) for p in policies.list_policies(db, principal, organization_id)
    ]


@router.post("", response_model=Created, name="policy.create")
def create_policy(
    body: PolicyCreate, db: Db, principal: CurrentPrincipal, organization_id: str | None = None
) -> Created:
    if organization_id and body.organization_id and organization_id != body.organization_id:
        raise InvalidInput(
            "The query and the body name different organizations; give it once.",
            field="organization_id",
        )
    policy = policies.create_policy(
        db,
        principal,
        organization_id=organization_id or body.organization_id,
        name=body.name,
        description=body.description,
        statements=statements_of(body.statements),
    )
    return Created(id=policy.id)


@router.get("/{policy_id}", response_model=Policy, name="policy.read")
def get_policy(policy_id: str, db: Db, principal: CurrentPrincipal) -> Policy:
    return Policy.model_validate(policies.get_policy(db, principal, policy_id))


@router.patch("/{policy_id}", response_model=Policy, name="policy.update")
def update_policy(
    policy_id: str, body: PolicyUpdate, db: Db, principal: CurrentPrincipal
) -> Policy:
    """Name, description and statements; the users holding it are judged by the new
    statements from their next request on."""
    view = policies.update_policy(
        db,
        principal,
        policy_id,
        name=body.name if body.name is not None else KEEP,
        description=body.description if body.description is not None else KEEP,
        statements=statements_of(body.statements) if body.statements is not None else KEEP,
    )
    return Policy.model_validate(view)


@router.delete("/{policy_id}", response_model=Empty, name="policy.delete")
def delete_policy(policy_id: str, db: Db, principal: CurrentPrincipal) -> Empty:
    """409 for a built-in policy, and for one that users still hold (the message names
    them: take it from them first)."""
    policies.delete_policy(db, principal, policy_id)
    return Empty()
