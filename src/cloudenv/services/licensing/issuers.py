"""The issuers whose license keys the deployment accepts: their Ed25519 public keys.

Trust is the deployment's as a whole, so it belongs to the root organization: its
administrators trust a key (at ``cloudenv init`` or later) or stop trusting one; other
organizations' keys are checked against the same list but can't see or change it. None is
trusted by default, so until one is, no key can be set (cloudenv works all the same).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from cloudenv import clock
from cloudenv.errors import Conflict, Forbidden, InvalidInput, NotFound
from cloudenv.ids import Prefix, new_id
from cloudenv.services.access import Action, Principal, authorize, readable
from cloudenv.services.events import EventKind
from cloudenv.services.journal import record_change
from cloudenv.services.licensing import keys
from cloudenv.services.validation import ISSUER_NAME
from cloudenv.store.queries import licensing as q
from cloudenv.store.queries import tenancy as tenancy_queries
from cloudenv.store.queries.scope import UNSCOPED
from cloudenv.store.tables import LicenseIssuer


def trusted(db: Session) -> list[keys.TrustedIssuer]:
    """Every trusted issuer, for checking keys (whoever's node: trust is deployment-wide)."""
    return [
        keys.TrustedIssuer(row.fingerprint, row.name, keys.parse_public_key(row.public_key))
        for row in q.issuers(db, UNSCOPED)
    ]


def list_issuers(db: Session, principal: Principal) -> list[LicenseIssuer]:
    """The trusted issuers the caller may read (none for other organizations' users)."""
    return readable(principal, Action.LICENSE_READ, q.issuers(db, principal.scope), _path)


def parse(public_key: str, field: str = "public_key") -> keys.TrustedIssuer:
    """A public key as given (one-line form or PEM), refused with the reason."""
    try:
        parsed = keys.parse_public_key(public_key)
    except keys.KeyFormatError as exc:
        raise InvalidInput(
            f"This is not an issuer's public key ({exc}); give the file or line that "
            "'cloudenv license keygen' printed, or an Ed25519 PEM PUBLIC KEY.",
            field=field,
        ) from None
    return keys.TrustedIssuer(keys.fingerprint(parsed), "", parsed)


def trust_issuer(db: Session, principal: Principal, *, name: str, public_key: str) -> LicenseIssuer:
    """Accept keys signed by ``public_key`` from now on, on every node of the deployment."""
    root = tenancy_queries.root_organization(db)
    if root is None or not principal.sees(root.id):
        raise Forbidden(
            "Only the root organization's administrators choose which license issuers the "
            "deployment trusts; ask the deployment's administrator."
        )
    authorize(principal, Action.LICENSE_TRUST, root.id)
    return add_issuer(db, principal, root.id, name=name, public_key=public_key)


def add_issuer(
    db: Session, principal: Principal, organization_id: str, *, name: str, public_key: str
) -> LicenseIssuer:
    """Write a trusted issuer (checked, unique); callers have authorized it (the API's
    ``trust_issuer``, or ``cloudenv init`` setting the deployment up)."""
    issuer = parse(public_key)
    ISSUER_NAME.check(name or issuer.fingerprint)
    text = keys.public_key_text(issuer.public_key)
    existing = q.issuer_by_public_key(db, text)
    if existing is not None:
        raise Conflict(
            f"This public key is already trusted, as issuer {existing.name} ({existing.id}).",
            field="public_key",
        )
    row = LicenseIssuer(
        id=new_id(Prefix.LICENSE_ISSUER),
        organization_id=organization_id,
        name=name or issuer.fingerprint,
        public_key=text,
        fingerprint=issuer.fingerprint,
        creation=clock.now(),
    )
    db.add(row)
    db.flush()
    record_change(
        db,
        principal,
        Action.LICENSE_TRUST,
        event=EventKind.LICENSE_ISSUERS_UPDATED,
        target_id=row.id,
        organization_id=organization_id,
        data={"fingerprint": row.fingerprint},
        message=f"Trusted license issuer {row.name} (fingerprint {row.fingerprint}).",
    )
    return row


def distrust_issuer(db: Session, principal: Principal, issuer_id: str) -> None:
    """Stop accepting keys from an issuer: keys it signed turn missing on every node (they
    stay set; trusting the issuer again makes them valid again)."""
    row = q.get_issuer(db, issuer_id, principal.scope)
    if row is None:
        raise NotFound(f"License issuer {issuer_id} does not exist.", field="id")
    authorize(principal, Action.LICENSE_TRUST, row.organization_id, _path(row))
    db.delete(row)
    record_change(
        db,
        principal,
        Action.LICENSE_TRUST,
        event=EventKind.LICENSE_ISSUERS_UPDATED,
        target_id=row.id,
        organization_id=row.organization_id,
        data={"fingerprint": row.fingerprint},
        message=f"No longer trusts license issuer {row.name} (fingerprint {row.fingerprint}).",
    )


def _path(row: LicenseIssuer) -> Sequence[str]:
    """An issuer hangs off the organization itself: ``issuer-X`` names one in a policy."""
    return (row.id,)
