"""IAM policies on the wire. Statements are typed loosely here on purpose: the one check
of what a statement may say is ``services.iam.policy.parse_statements``, whose messages
name the field at fault (``statements[3].action``) and point at the action vocabulary
(``GET /api/v1/policies/actions``)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from cloudenv.api.schemas.common import RequestBody, Schema, Timestamp
from cloudenv.services.iam.policy import MAX_STATEMENTS
from cloudenv.services.validation import DESCRIPTION_MAX

STATEMENTS_DOC = (
    f"At most {MAX_STATEMENTS} statements, evaluated together: any matching deny wins, "
    "else a matching allow allows, else the answer is no."
)


class RuleIn(RequestBody):
    field: str = Field(description="env.day_of_week, env.time_of_day or id.")
    operator: str = Field(
        description="equals, not_equals, in, not_in; between (env.time_of_day, "
        "[start, end]); matches (id, a pattern)."
    )
    value: str | list[str] = Field(examples=[["mon", "tue", "wed", "thu", "fri"]])


class StatementIn(RequestBody):
    action: str = Field(
        description="An action (instance.power), a family (instance.*) or '*'; the "
        "vocabulary is GET /api/v1/policies/actions.",
        examples=["instance.power"],
    )
    effect: str = Field(description="allow or deny.", json_schema_extra={"enum": ["allow", "deny"]})
    resource: str = Field(
        default="*",
        description="'*'; an ID or ID pattern naming the object itself (inst-…, cls-*); or "
        "a subtree, everything beneath an object (dc-…/*).",
        examples=["cls-YtR8FqvL29sKjb7WxD3Zn/*"],
    )
    rules: list[RuleIn] | None = Field(default=None, description="All must hold.")


class PolicyCreate(RequestBody):
    organization_id: str | None = Field(
        default=None,
        description="The organization (also accepted as a query parameter; the caller's "
        "own by default).",
    )
    name: str = Field(description="1-64 letters, digits, spaces, '.', '_' or '-'.")
    description: str = Field(default="", json_schema_extra={"maxLength": DESCRIPTION_MAX})
    statements: list[StatementIn] = Field(description=STATEMENTS_DOC)


class PolicyUpdate(RequestBody):
    name: str | None = None
    description: str | None = Field(default=None, json_schema_extra={"maxLength": DESCRIPTION_MAX})
    statements: list[StatementIn] | None = Field(default=None, description=STATEMENTS_DOC)


class Rule(Schema):
    field: str
    operator: str
    value: str | list[str]


class Statement(Schema):
    action: str
    effect: str
    resource: str
    rules: list[Rule] = Field(description="Empty when the statement has none.")


class Policy(Schema):
    id: str = Field(examples=["pol-builtin-operator"])
    organization_id: str | None = Field(description="null for a built-in policy.")
    name: str
    description: str
    statements: list[Statement]
    builtin: bool = Field(description="Built in: the same in every organization, read-only.")
    creation: Timestamp | None = Field(description="null for a built-in policy.")
    user_count: int = Field(description="How many users (that the caller sees) hold it.")


class ActionInfo(Schema):
    action: str = Field(examples=["instance.power"])
    area: str = Field(description="What the action acts on; 'area.*' names them all.")
    reads: bool = Field(description="Whether it only reads.")


def statements_of(items: list[StatementIn]) -> list[dict[str, Any]]:
    """The statements as the policy engine checks them (rules left out when not given)."""
    return [item.model_dump(exclude_none=True) for item in items]
