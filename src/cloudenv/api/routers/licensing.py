"""License keys: a node's key (read, set), a cluster's licensing status, and the issuers
the deployment trusts. Keys are checked offline against those issuers; cloudenv works the
same whatever their status."""

from __future__ import annotations

from fastapi import APIRouter

from cloudenv.api.deps import CurrentPrincipal, Db
from cloudenv.api.schemas.common import Created, Empty
from cloudenv.api.schemas.licensing import (
    ClusterLicensing,
    LicenseIssuer,
    LicenseIssuerCreate,
    NodeLicense,
    NodeLicenseSet,
)
from cloudenv.services.licensing import issuers, nodes

router = APIRouter(tags=["licensing"])


@router.get("/v1/nodes/{node_id}/license", response_model=NodeLicense, name="node.license")
def get_node_license(node_id: str, db: Db, principal: CurrentPrincipal) -> NodeLicense:
    return NodeLicense.model_validate(nodes.get_node_license(db, principal, node_id))


@router.put("/v1/nodes/{node_id}/license", response_model=NodeLicense, name="node.license_set")
def set_node_license(
    node_id: str, body: NodeLicenseSet, db: Db, principal: CurrentPrincipal
) -> NodeLicense:
    """The seed's Set License Key: a key that is not valid for this node now (malformed,
    from an untrusted issuer, forged, another node's, expired) is refused (400) with the
    reason, and the key set before stays."""
    return NodeLicense.model_validate(nodes.set_node_license(db, principal, node_id, body.key))


@router.get(
    "/v1/clusters/{cluster_id}/licensing", response_model=ClusterLicensing, name="cluster.licensing"
)
def get_cluster_licensing(cluster_id: str, db: Db, principal: CurrentPrincipal) -> ClusterLicensing:
    return ClusterLicensing.model_validate(nodes.cluster_licensing(db, principal, cluster_id))


@router.get("/v1/license_issuers", response_model=list[LicenseIssuer], name="license.issuer_list")
def list_issuers(db: Db, principal: CurrentPrincipal) -> list[LicenseIssuer]:
    """The issuers whose keys the deployment accepts (the root organization's users see
    them; others get an empty list)."""
    return [LicenseIssuer.model_validate(i) for i in issuers.list_issuers(db, principal)]


@router.post("/v1/license_issuers", response_model=Created, name="license.issuer_create")
def trust_issuer(body: LicenseIssuerCreate, db: Db, principal: CurrentPrincipal) -> Created:
    """Accept keys signed by this public key on every node (root organization only)."""
    return Created(
        id=issuers.trust_issuer(db, principal, name=body.name, public_key=body.public_key).id
    )


@router.delete(
    "/v1/license_issuers/{issuer_id}", response_model=Empty, name="license.issuer_delete"
)
def distrust_issuer(issuer_id: str, db: Db, principal: CurrentPrincipal) -> Empty:
    """Stop accepting its keys: nodes whose key it signed turn missing (the keys stay set
    and count again if it is trusted again)."""
    issuers.distrust_issuer(db, principal, issuer_id)
    return Empty()
