"""The audit trail and quotas on the wire."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from cloudenv.api.schemas.common import RequestBody, Schema, Timestamp
from cloudenv.services.iam.quotas import QUOTA_MAX


class AuditEntry(Schema):
    """One row of the trail: who did what to which object, how it ended, from where."""

    id: int = Field(description="Ascending in the order rows were written.")
    time: Timestamp
    organization_id: str | None = Field(
        description="The organization the action concerned; null for the deployment's own "
        "rows (anonymous refusals, sign-ins under unknown names), shown in the root "
        "organization's trail."
    )
    user_id: str | None = Field(description="Null for an anonymous caller.")
    username: str | None
    action: str = Field(examples=["instance.deploy"])
    target_id: str | None = Field(description="The object acted on, when there is one.")
    outcome: str = Field(description="success or failure.", examples=["success"])
    status_code: int = Field(description="The HTTP status the call was answered with.")
    message: str = Field(description="Why it failed; empty for most successes.")
    source_address: str | None = Field(description="The caller's IP address.")


class Usage(Schema):
    vcpus: int = Field(description="Sockets x cores x threads over the organization's instances.")
    memory_mb: int = Field(description="Memory of the organization's instances, in MB.")
    storage_gb: int = Field(description="Size of the organization's volumes, in GB (rounded up).")
    instances: int


_LIMIT = "null: unlimited."


class Quotas(Schema):
    """The organization's limits (null: unlimited) and what it uses now."""

    vcpus: int | None = Field(description=f"The most vCPUs its instances may have; {_LIMIT}")
    memory_mb: int | None = Field(description=f"The most memory of its instances, MB; {_LIMIT}")
    storage_gb: int | None = Field(description=f"The most volume storage, GB; {_LIMIT}")
    instances: int | None = Field(description=f"The most instances; {_LIMIT}")
    usage: Usage


def _limit() -> Any:
    return Field(ge=0, le=QUOTA_MAX, description="0 allows none; null is unlimited.")


class QuotasUpdate(RequestBody):
    """Every limit, each given (null: unlimited), so a client that forgets one can't lift
    it without saying so."""

    vcpus: int | None = _limit()
    memory_mb: int | None = _limit()
    storage_gb: int | None = _limit()
    instances: int | None = _limit()
