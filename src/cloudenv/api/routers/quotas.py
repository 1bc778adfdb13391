"""An organization's quotas: the limits and current usage; setting them (the root
organization's administrators only, see ``services.iam.quotas``)."""

from __future__ import annotations

from fastapi import APIRouter

from cloudenv.api.deps import CurrentPrincipal, Db
from cloudenv.api.schemas.iam_audit import Quotas, QuotasUpdate, Usage
from cloudenv.services.iam import quotas
from cloudenv.services.iam.quotas import QuotasView

router = APIRouter(prefix="/v1/organizations", tags=["quotas"])


def _reply(view: QuotasView) -> Quotas:
    return Quotas(
        vcpus=view.vcpus,
        memory_mb=view.memory_mb,
        storage_gb=view.storage_gb,
        instances=view.instances,
        usage=Usage(**view.usage._asdict()),
    )


@router.get("/{organization_id}/quotas", response_model=Quotas, name="quota.read")
def get_quotas(organization_id: str, db: Db, principal: CurrentPrincipal) -> Quotas:
    """The organization's limits (null: unlimited) and what its instances and volumes use."""
    return _reply(quotas.get_quotas(db, principal, organization_id))


@router.put("/{organization_id}/quotas", response_model=Quotas, name="quota.update")
def set_quotas(
    organization_id: str, body: QuotasUpdate, db: Db, principal: CurrentPrincipal
) -> Quotas:
    """Replace every limit. Only the root organization's administrators may: a limit the
    organization could lift itself would bound nothing. A limit below the current usage
    is accepted; it refuses only what would add to the usage."""
    view = quotas.set_quotas(
        db,
        principal,
        organization_id,
        vcpus=body.vcpus,
        memory_mb=body.memory_mb,
        storage_gb=body.storage_gb,
        instances=body.instances,
    )
    return _reply(view)
