"""Users: the product's list and delete, and cloudenv's create, read, change, policies,
import and export."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from cloudenv.api.confirm import ConfirmQuery
from cloudenv.api.deps import CurrentPrincipal, Db
from cloudenv.api.schemas.common import Empty
from cloudenv.api.schemas.users import (
    ImportResult,
    PolicyIds,
    User,
    UserCreate,
    UserCreated,
    UserPolicies,
    UserUpdate,
    UserUpdated,
)
from cloudenv.errors import InvalidInput
from cloudenv.services.iam import users
from cloudenv.services.partial import KEEP

router = APIRouter(prefix="/v1/users", tags=["users"])

CSV = "text/csv"
OrganizationQuery = Annotated[str, Query(description="The organization's ID.")]


async def _body(request: Request) -> bytes:
    # Read here, on the event loop, so the route itself can run on a worker thread like
    # every other (its database work and password hashing must not hold the loop). The
    # request gate has already limited the body's size.
    return await request.body()


RawBody = Annotated[bytes, Depends(_body)]


@router.get("", response_model=list[User], name="user.list")
def list_users(
    db: Db,
    principal: CurrentPrincipal,
    organization_id: Annotated[
        str | None, Query(description="Only this organization's users.")
    ] = None,
) -> list[User]:
    return [User.model_validate(v) for v in users.list_users(db, principal, organization_id)]


@router.post("", response_model=UserCreated, response_model_exclude_none=True, name="user.create")
def create_user(body: UserCreate, db: Db, principal: CurrentPrincipal) -> UserCreated:
    spec = users.NewUser(
        username=body.username,
        enabled=body.enabled,
        description=body.description,
        linux_user=body.linux_user,
        expiry=users.parse_expiry(body.expiry),
        external=body.external,
        password=body.password,
        random_password=body.random_password,
        temporary=body.temporary,
        policy_ids=tuple(body.policy_ids),
    )
    created = users.create_user(db, principal, body.organization_id, spec)
    return UserCreated(id=created.id, password=created.password)


_IMPORT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": (
            'The users: a JSON array of objects (or {"users": [...]}), or CSV with a '
            "header row (Content-Type: text/csv). Fields or columns: "
            + ", ".join(users.IMPORT_FIELDS)
            + f". At most {users.MAX_IMPORT_ROWS} users and {users.MAX_IMPORT_PASSWORDS} "
            "passwords at once."
        ),
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        {
                            "type": "object",
                            "properties": {"users": {"type": "array", "items": {"type": "object"}}},
                            "required": ["users"],
                            "additionalProperties": False,
                        },
                        {"type": "array", "items": {"type": "object"}},
                    ]
                }
            },
            CSV: {"schema": {"type": "string"}},
        },
    }
}


@router.post(
    "/import",
    response_model=list[ImportResult],
    response_model_exclude_none=True,
    name="user.import",
    openapi_extra=_IMPORT_BODY,
    responses={
        400: {
            "description": "A row was refused: nothing was created; 'details' has every "
            "row's result."
        },
        413: {"description": "The body is larger than the API accepts."},
    },
)
def import_users(
    request: Request,
    body: RawBody,
    db: Db,
    principal: CurrentPrincipal,
    organization_id: OrganizationQuery,
    dry_run: Annotated[
        bool, Query(description="Check every row and report, creating nothing.")
    ] = False,
) -> list[dict[str, Any]]:
    """All or nothing: every row's user is created, or (one row refused) none is, and
    the 400's ``details`` says why for each row. ``dry_run`` reports the same without
    creating anything."""
    rows = _import_rows(body, request.headers.get("content-type", ""))
    report = users.import_users(db, principal, organization_id, rows, dry_run=dry_run)
    results = [
        ImportResult.model_validate(asdict(r)).model_dump(exclude_none=True) for r in report.results
    ]
    if not report.ok and not dry_run:
        refused = sum(1 for r in report.results if not r.ok)
        raise InvalidInput(
            f"{refused} of {len(results)} users can't be imported, so none was; 'details' "
            "says why for each row.",
            field="users",
            details=results,
        )
    return results


def _import_rows(raw: bytes, content_type: str) -> list[Any]:
    """The rows of an import body: CSV by its Content-Type, else JSON."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("The import is not UTF-8 text.", field="users") from None
    if content_type.split(";", 1)[0].strip().lower() == CSV:
        return list(users.parse_csv(text))
    try:
        data = json.loads(text)
    except ValueError:
        raise InvalidInput(
            "The request body is not valid JSON (send CSV with Content-Type: text/csv).",
            field="users",
        ) from None
    if isinstance(data, dict):
        extra = [k for k in data if k != "users"]
        if extra:
            raise InvalidInput(
                f"'{extra[0]}' is not a field of this request; send {{\"users\": [...]}} or "
                "a bare array.",
                field=extra[0],
            )
        data = data.get("users")
    if not isinstance(data, list):
        raise InvalidInput(
            'The import must be an array of users, or {"users": [...]}.', field="users"
        )
    for index, row in enumerate(data):
        if not isinstance(row, dict):
            raise InvalidInput(
                f"users[{index}] must be an object (one user).", field=f"users[{index}]"
            )
    return data


@router.get(
    "/export",
    response_model=list[dict[str, Any]],
    name="user.export",
    responses={200: {"content": {CSV: {"schema": {"type": "string"}}}}},
)
def export_users(
    request: Request, db: Db, principal: CurrentPrincipal, organization_id: OrganizationQuery
) -> Any:
    """The organization's users as import rows (JSON, or CSV with ``Accept: text/csv``);
    never a password or its hash."""
    rows = users.export_users(db, principal, organization_id)
    if CSV in request.headers.get("accept", ""):
        return Response(
            users.to_csv(rows),
            media_type=CSV,
            headers={"Content-Disposition": 'attachment; filename="users.csv"'},
        )
    return rows


@router.get("/{user_id}", response_model=User, name="user.read")
def get_user(user_id: str, db: Db, principal: CurrentPrincipal) -> User:
    return User.model_validate(users.get_user(db, principal, user_id))


@router.patch("/{user_id}", response_model=UserUpdated, name="user.update")
def update_user(user_id: str, body: UserUpdate, db: Db, principal: CurrentPrincipal) -> UserUpdated:
    given = body.model_fields_set
    view, generated = users.update_user(
        db,
        principal,
        user_id,
        description=body.description if body.description is not None else KEEP,
        enabled=body.enabled if body.enabled is not None else KEEP,
        expiry=users.parse_expiry(body.expiry) if "expiry" in given else KEEP,
        linux_user=body.linux_user if "linux_user" in given else KEEP,
        password=body.password if body.password is not None else KEEP,
        random_password_=body.random_password,
        temporary=body.temporary,
    )
    return UserUpdated.model_validate({**asdict(view), "password": generated})


@router.delete("/{user_id}", response_model=Empty, name="user.delete")
def delete_user(
    user_id: str, db: Db, principal: CurrentPrincipal, confirm: ConfirmQuery = None
) -> Empty:
    users.delete_user(db, principal, user_id, confirm=confirm)
    return Empty()


@router.put("/{user_id}/policies", response_model=PolicyIds, name="user.set_policies")
def set_policies(
    user_id: str, body: UserPolicies, db: Db, principal: CurrentPrincipal
) -> PolicyIds:
    return PolicyIds(policy_ids=users.set_policies(db, principal, user_id, body.policy_ids))
