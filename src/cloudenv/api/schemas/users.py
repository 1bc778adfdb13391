"""Users on the wire. The list's fields are the product's (its clients decode them); the
rest are cloudenv's own. Types only: the name, password and policy rules live in
``services`` (one rule, one message for every client, the import's rows included)."""

from __future__ import annotations

from pydantic import Field
from pydantic.config import JsonDict
from pydantic.json_schema import SkipJsonSchema

from cloudenv.api.schemas.common import RequestBody, Schema, Timestamp
from cloudenv.services.iam.passwords import MAX_LENGTH, MIN_LENGTH
from cloudenv.services.validation import DESCRIPTION_MAX

_EXPIRY_DOC: JsonDict = {"format": "date-time"}
_PASSWORD_DOC: JsonDict = {"minLength": MIN_LENGTH, "maxLength": MAX_LENGTH}
_DESCRIPTION_DOC: JsonDict = {"maxLength": DESCRIPTION_MAX}
_TEMPORARY = (
    "The password is for the next sign-in only: that session may do nothing but change "
    "it. Default: true whenever a password is set for someone."
)
_EXPIRY = (
    "When the user stops being able to sign in: RFC 3339 (2026-12-31T23:59:59Z) or a date "
    "(2026-12-31, midnight UTC); null for never."
)
_PASSWORD = (
    f"{MIN_LENGTH} to {MAX_LENGTH} characters, not containing the user name, not a commonly "
    "used password. No rules about kinds of characters: length is what counts."
)


class User(Schema):
    id: str = Field(examples=["user-Xk3LmQ8vRt2ZpN7bWc1Yd"])
    organization_id: str
    username: str
    enabled: bool
    locked: bool = Field(
        description="Locked by an administrator, or locked out after failed sign-ins."
    )
    expiry: Timestamp | None
    expired: bool = Field(description="The expiry has passed: the user can't sign in.")
    mfa_enabled: bool
    is_root: bool = Field(description="pceadmin: owns the deployment, can't be deleted.")
    linux_user: str | None
    description: str
    creation: Timestamp
    external: bool = Field(description="Signs in through an external provider.")
    temporary_password: bool = Field(description="Must change the password at the next sign-in.")
    policies: list[str] = Field(description="The user's policy IDs, in evaluation order.")


class UserCreate(RequestBody):
    organization_id: str
    username: str = Field(
        description="3 to 64 letters, digits, '.', '_', '@' or '-'; unique in the deployment.",
        examples=["ana.lima"],
    )
    password: str | SkipJsonSchema[None] = Field(
        default=None, description=_PASSWORD, json_schema_extra=_PASSWORD_DOC
    )
    random_password: bool = Field(
        default=False, description="Generate a password; the reply shows it this once."
    )
    temporary: bool | SkipJsonSchema[None] = Field(default=None, description=_TEMPORARY)
    enabled: bool = True
    expiry: str | None = Field(default=None, description=_EXPIRY, json_schema_extra=_EXPIRY_DOC)
    linux_user: str | None = Field(
        default=None,
        description="The POSIX account the user's node console runs as.",
        examples=["ana"],
    )
    description: str = Field(default="", json_schema_extra=_DESCRIPTION_DOC)
    external: bool = Field(
        default=False, description="Signs in through an external provider (no password here)."
    )
    policy_ids: list[str] = Field(
        default_factory=list,
        description="Built-in (pol-builtin-*) or the organization's own policies, in order.",
    )


class UserCreated(Schema):
    id: str = Field(examples=["user-Xk3LmQ8vRt2ZpN7bWc1Yd"])
    password: str | SkipJsonSchema[None] = Field(
        default=None, description="Only with random_password: the password, shown this once."
    )


class UserUpdate(RequestBody):
    description: str | SkipJsonSchema[None] = Field(
        default=None, json_schema_extra=_DESCRIPTION_DOC
    )
    enabled: bool | SkipJsonSchema[None] = None
    expiry: str | None = Field(
        default=None, description=_EXPIRY + " Absent: unchanged.", json_schema_extra=_EXPIRY_DOC
    )
    linux_user: str | None = Field(default=None, description="null removes it.")
    password: str | SkipJsonSchema[None] = Field(
        default=None,
        description="A new password for the user (not for oneself: POST /v1/auth/password). "
        + _PASSWORD,
        json_schema_extra=_PASSWORD_DOC,
    )
    random_password: bool = Field(
        default=False, description="Set a generated password; the reply shows it this once."
    )
    temporary: bool | SkipJsonSchema[None] = Field(default=None, description=_TEMPORARY)


class UserUpdated(User):
    password: str | None = Field(
        default=None, description="Only with random_password: the password, shown this once."
    )


class UserPolicies(RequestBody):
    policy_ids: list[str] = Field(
        description="Exactly these policies, in this order (statements are evaluated in it).",
        examples=[["pol-builtin-operator"]],
    )


class PolicyIds(Schema):
    policy_ids: list[str]


class ImportError_(Schema):
    code: int = Field(examples=[409])
    message: str
    field: str | None = None


class ImportResult(Schema):
    row: int = Field(description="1 for the first user of the file.")
    username: str | None
    ok: bool
    id: str | SkipJsonSchema[None] = Field(default=None, description="Once created.")
    password: str | SkipJsonSchema[None] = Field(
        default=None, description="A generated password, shown this once."
    )
    error: ImportError_ | SkipJsonSchema[None] = None


class PasswordChange(RequestBody):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(description=_PASSWORD, json_schema_extra=_PASSWORD_DOC)
