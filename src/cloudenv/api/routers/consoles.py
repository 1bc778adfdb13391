"""Console tickets: ``POST /v1/instances/{id}/console``. The WebSockets that spend them
live in ``cloudenv.consoles`` (they need the node's hypervisor, which the API must not
touch)."""

from __future__ import annotations

from fastapi import APIRouter

from cloudenv.api.deps import CurrentPrincipal, Db
from cloudenv.api.schemas.consoles import ConsoleRequest, ConsoleSession
from cloudenv.services.compute import consoles

router = APIRouter(tags=["instances"])


@router.post(
    "/v1/instances/{instance_id}/console", response_model=ConsoleSession, name="instance.console"
)
def open_console(
    instance_id: str,
    db: Db,
    principal: CurrentPrincipal,
    body: ConsoleRequest | None = None,
    node_id: str | None = None,
) -> ConsoleSession:
    """A single-use, 30-second ticket to a running instance's screen or serial console."""
    ticket = consoles.issue_ticket(db, principal, instance_id, body.kind if body else None)
    return ConsoleSession.model_validate(
        {
            "session_token": ticket.token,
            "kind": ticket.kind.value,  # an instance's kinds only (vnc, serial)
            "websocket": ticket.websocket,
            "expires_in": ticket.expires_in,
        }
    )
