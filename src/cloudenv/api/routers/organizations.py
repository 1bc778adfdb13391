"""Organizations: the tree listing, one organization, create, delete."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response

from cloudenv.api.confirm import ConfirmQuery
from cloudenv.api.deps import CurrentPrincipal, Db
from cloudenv.api.rendering import (
    VersionedCache,
    accepts_gzip,
    json_response,
    render,
    tree_entries,
)
from cloudenv.api.schemas.common import Created, Empty
from cloudenv.api.schemas.tenancy import OrganizationCreate, OrganizationTree, OrganizationUpdate
from cloudenv.services.partial import KEEP
from cloudenv.services.tenancy import organizations, views

router = APIRouter(prefix="/v1/organizations", tags=["organizations"])
_trees = VersionedCache()
#: The trees themselves per scope, for callers whose policies filter them...
_tree_values = VersionedCache(max_entries=64)
#: ...and the filtered trees rendered, per scope and policy (callers holding the same
#: policies share them; a policy with time rules, per minute).
_filtered = VersionedCache()


@router.get("", response_model=list[OrganizationTree], name="organization.list")
def list_organizations(request: Request, db: Db, principal: CurrentPrincipal) -> Response:
    """Every organization the caller sees, each with the datacenters, clusters and nodes
    its policies allow reading.

    Every UI polls this; the rendered tree is reused until what it shows changes (see
    VersionedCache), which matters at thousands of nodes. A caller whose policies don't
    allow reading everything it sees gets the same cached tree, filtered for it.
    """
    # Keyed by database too: what a rendered tree shows belongs to the database it came from.
    key = (str(db.get_bind().engine.url), principal.scope)
    version = views.tree_version(db)
    gzip_ok = accepts_gzip(request.headers.get("accept-encoding"))
    if not organizations.reads_whole_tree(principal):

        def whole() -> tuple[list[views.OrganizationTree], datetime | None]:
            trees = organizations.scope_trees(db, principal.scope)
            return trees, views.tree_valid_until(db, trees)

        def filtered() -> tuple[list[dict[str, Any]], datetime | None]:
            trees = _tree_values.fetch(key, version, whole)
            readable = organizations.readable_trees(principal, trees)
            return tree_entries(readable), views.tree_valid_until(db, trees)

        answers = principal.answers_key
        if answers is None:
            return json_response(filtered()[0])
        return _filtered.render((*key, answers), version, filtered, gzip_ok=gzip_ok)

    def produce() -> tuple[list[dict[str, Any]], datetime | None]:
        trees = organizations.scope_trees(db, principal.scope)
        return tree_entries(trees), views.tree_valid_until(db, trees)

    return _trees.render(key, version, produce, gzip_ok=gzip_ok)


@router.get("/{organization_id}", response_model=OrganizationTree, name="organization.read")
def get_organization(organization_id: str, db: Db, principal: CurrentPrincipal) -> Response:
    tree = OrganizationTree.model_validate(organizations.get_tree(db, principal, organization_id))
    return render(OrganizationTree, tree)


@router.post("", response_model=Created, name="organization.create")
def create_organization(body: OrganizationCreate, db: Db, principal: CurrentPrincipal) -> Created:
    org = organizations.create_organization(
        db, principal, name=body.name, description=body.description
    )
    return Created(id=org.id)


@router.patch("/{organization_id}", response_model=OrganizationTree, name="organization.update")
def update_organization(
    organization_id: str, body: OrganizationUpdate, db: Db, principal: CurrentPrincipal
) -> OrganizationTree:
    tree = organizations.update_organization(
        db,
        principal,
        organization_id,
        name=body.name if body.name is not None else KEEP,
        description=body.description if body.description is not None else KEEP,
    )
    return OrganizationTree.model_validate(tree)


@router.delete("/{organization_id}", response_model=Empty, name="organization.delete")
def delete_organization(
    organization_id: str, db: Db, principal: CurrentPrincipal, confirm: ConfirmQuery = None
) -> Empty:
    organizations.delete_organization(db, principal, organization_id, confirm=confirm)
    return Empty()
