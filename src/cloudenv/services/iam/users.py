"""Users of an organization: listed, read, created (one by one or imported, all or
nothing), changed, given policies, exported, deleted.

Sign-in takes a user name alone, so names are unique across the deployment (ignoring
case). What a caller sees is its scope (another organization's user is 404); what it
may do is its policies, asked with ``authorize`` for the organization and the user.
Every change is audited in its own transaction, with the Action as the audit action and
the user's ID as the target.

``pceadmin`` (the root user, ``is_root``) owns the deployment: it can't be deleted,
disabled or given policies (its access is not evaluated), and only it may change its own
account, since whoever could reset its password would become it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cloudenv import clock
from cloudenv.errors import CloudenvError, Conflict, Forbidden, InvalidInput, NotFound
from cloudenv.ids import Prefix, new_id
from cloudenv.services import audit, auth
from cloudenv.services.access import Action, Principal, authorize
from cloudenv.services.confirmation import check_confirm
from cloudenv.services.iam import builtin
from cloudenv.services.iam.passwords import check_password, end_sessions, random_password
from cloudenv.services.partial import KEEP, Keep
from cloudenv.services.validation import LINUX_USER, USERNAME, check_description
from cloudenv.store.queries import iam as q
from cloudenv.store.queries import tenancy as tenancy_q
from cloudenv.store.tables import Organization, User, UserPolicy

#: The most users one import may hold.
MAX_IMPORT_ROWS = 1000
#: The most passwords (given or generated) one import may set: each costs an argon2 hash,
#: deliberately slow (tenths of a second), inside one request.
MAX_IMPORT_PASSWORDS = 100
#: The most policies one user may hold.
MAX_POLICIES = 64
#: The Linux account every host has as uid 0; only the root organization's users may run
#: the node console as it.
ROOT_ACCOUNT = "root"

#: The columns of an import (JSON keys or CSV headers).
IMPORT_FIELDS = (
    "username",
    "enabled",
    "linux_user",
    "description",
    "expiry",
    "external",
    "policy_ids",
    "password",
    "random_password",
    "temporary",
)
#: Columns an export has that an import ignores, so an export imports as it is.
EXPORT_ONLY_FIELDS = ("id", "organization_id", "creation")
#: The columns of an export, in order; never a password or its hash.
EXPORT_FIELDS = (
    "id",
    "organization_id",
    "username",
    "enabled",
    "linux_user",
    "description",
    "expiry",
    "external",
    "policy_ids",
    "creation",
)


@dataclass(frozen=True)
class UserView:
    id: str
    organization_id: str
    username: str
    enabled: bool
    #: Locked by an administrator, or by a lockout after failed sign-ins still in force.
    locked: bool
    expiry: datetime | None
    expired: bool
    mfa_enabled: bool
    is_root: bool
    linux_user: str | None
    description: str
    creation: datetime
    external: bool
    temporary_password: bool
    policies: list[str]


@dataclass(frozen=True)
class NewUser:
    """A user to create, checked by :func:`_check_new`."""

    username: str
    enabled: bool = True
    description: str = ""
    linux_user: str | None = None
    expiry: datetime | None = None
    external: bool = False
    password: str | None = None
    random_password: bool = False
    #: None: the default, which is True when an administrator sets a password.
    temporary: bool | None = None
    policy_ids: tuple[str, ...] = ()

    @property
    def sets_password(self) -> bool:
        return self.password is not None or self.random_password


@dataclass(frozen=True)
class CreatedUser:
    id: str
    #: The generated password, shown this once (None when the caller gave one or none).
    password: str | None = None


@dataclass(frozen=True)
class ImportRow:
    row: int
    username: str | None
    ok: bool
    id: str | None = None
    password: str | None = None
    error: dict[str, Any] | None = None


@dataclass
class ImportReport:
    results: list[ImportRow] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)


# Reading ---------------------------------------------------------------------------


def list_users(
    db: Session, principal: Principal, organization_id: str | None = None
) -> list[UserView]:
    """The users of ``organization_id``, or of every organization the caller sees and may
    list users of."""
    if organization_id is not None:
        org = _organization(db, principal, organization_id)
        authorize(principal, Action.USER_LIST, org.id)
        return _views(db, q.users(db, principal.scope, org.id))
    rows = q.users(db, principal.scope)
    return _views(db, [u for u in rows if principal.may(Action.USER_LIST, (u.organization_id,))])


def get_user(db: Session, principal: Principal, user_id: str) -> UserView:
    user = _load(db, principal, user_id)
    authorize(principal, Action.USER_READ, user.organization_id, (user.id,))
    return _views(db, [user])[0]


def export_users(db: Session, principal: Principal, organization_id: str) -> list[dict[str, Any]]:
    """The organization's users as import rows (EXPORT_FIELDS): no password, no hash, no
    second factor. Audited, as it hands out the list of who can sign in."""
    org = _organization(db, principal, organization_id)
    authorize(principal, Action.USER_EXPORT, org.id)
    views = _views(db, q.users(db, principal.scope, org.id))
    audit.record(db, principal, Action.USER_EXPORT, target_id=org.id, organization_id=org.id)
    return [
        {
            "id": v.id,
            "organization_id": v.organization_id,
            "username": v.username,
            "enabled": v.enabled,
            "linux_user": v.linux_user,
            "description": v.description,
            "expiry": clock.rfc3339(v.expiry),
            "external": v.external,
            "policy_ids": v.policies,
            "creation": clock.rfc3339(v.creation),
        }
        for v in views
    ]


def to_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] = EXPORT_FIELDS) -> str:
    """Rows as CSV with a header: booleans as true/false, lists space-separated, None empty.
    A value that a spreadsheet would run as a formula gets a leading apostrophe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_cell(row.get(c)) for c in columns])
    return out.getvalue()


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return " ".join(str(v) for v in value)
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


# Creating --------------------------------------------------------------------------


def create_user(
    db: Session, principal: Principal, organization_id: str, spec: NewUser
) -> CreatedUser:
    org = _organization(db, principal, organization_id)
    authorize(principal, Action.USER_CREATE, org.id)
    spec = _check_new(db, org, spec)
    if spec.policy_ids:
        authorize(principal, Action.USER_SET_POLICIES, org.id)
    if q.usernames_taken(db, [spec.username]):
        raise Conflict(
            f"A user named {spec.username} already exists (user names are unique across "
            "the deployment, ignoring case); choose another name.",
            field="username",
        )
    return _insert(db, principal, org, spec)


def import_users(
    db: Session,
    principal: Principal,
    organization_id: str,
    rows: Sequence[Any],
    *,
    dry_run: bool = False,
) -> ImportReport:
    """Create every row's user, or none: a report with one result per row. With any row
    refused, nothing is written and the report says why for each refused row; with
    ``dry_run``, nothing is written either way (and no password is generated)."""
    org = _organization(db, principal, organization_id)
    authorize(principal, Action.USER_IMPORT, org.id)
    if len(rows) > MAX_IMPORT_ROWS:
        raise InvalidInput(
            f"The import has {len(rows)} users; at most {MAX_IMPORT_ROWS} are imported at once: "
            "split it.",
            field="users",
        )
    specs: list[NewUser | CloudenvError] = []
    for raw in rows:
        try:
            specs.append(_check_new(db, org, _spec_of(raw)))
        except CloudenvError as refused:
            specs.append(refused)
    if any(isinstance(s, NewUser) and s.policy_ids for s in specs):
        authorize(principal, Action.USER_SET_POLICIES, org.id)
    passwords = sum(1 for s in specs if isinstance(s, NewUser) and s.sets_password)
    if passwords > MAX_IMPORT_PASSWORDS:
        raise InvalidInput(
            f"The import sets {passwords} passwords; at most {MAX_IMPORT_PASSWORDS} are set at "
            "once (each is hashed with a deliberately slow function): split it.",
            field="users",
        )
    taken = q.usernames_taken(db, [s.username for s in specs if isinstance(s, NewUser)])
    first_row: dict[str, int] = {}
    report = ImportReport()
    for number, (raw, spec) in enumerate(zip(rows, specs, strict=True), start=1):
        name = raw.get("username") if isinstance(raw, Mapping) else None
        username = name if isinstance(name, str) else None
        if isinstance(spec, NewUser):
            key = spec.username.lower()
            if key in first_row:
                spec = Conflict(
                    f"User {spec.username} is also in row {first_row[key]}; each user once.",
                    field="username",
                )
            elif key in taken:
                spec = Conflict(
                    f"A user named {spec.username} already exists (user names are unique "
                    "across the deployment, ignoring case).",
                    field="username",
                )
            first_row.setdefault(key, number)
        if isinstance(spec, CloudenvError):
            error = {"code": spec.status, "message": spec.message, "field": spec.field}
            report.results.append(ImportRow(number, username, ok=False, error=error))
        else:
            report.results.append(ImportRow(number, spec.username, ok=True))
            specs[number - 1] = spec
    if dry_run or not report.ok:
        return report
    created = [
        _insert(db, principal, org, spec, action=Action.USER_IMPORT)
        for spec in specs
        if isinstance(spec, NewUser)
    ]
    report.results = [
        replace(result, id=made.id, password=made.password)
        for result, made in zip(report.results, created, strict=True)
    ]
    return report


def parse_csv(text: str) -> list[dict[str, str]]:
    """The rows of a CSV import (a header row naming IMPORT_FIELDS first); empty cells
    are left out, so they take the field's default."""
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
    header = reader.fieldnames or []
    if "username" not in header:
        raise InvalidInput(
            "The CSV import's first row must name the columns, 'username' among them "
            f"(columns: {', '.join(IMPORT_FIELDS)}).",
            field="username",
        )
    known = set(IMPORT_FIELDS) | set(EXPORT_ONLY_FIELDS)
    unknown = [c for c in header if c not in known]
    if unknown:
        raise InvalidInput(
            f"The CSV import has the column {unknown[0]!r}, which is not a user field "
            f"(columns: {', '.join(IMPORT_FIELDS)}).",
            field=unknown[0],
        )
    rows = []
    for record in reader:
        if None in record:
            raise InvalidInput(
                f"CSV line {reader.line_num} has more cells than the header has columns.",
                field="users",
            )
        rows.append({k: v for k, v in record.items() if v not in ("", None)})
        if len(rows) > MAX_IMPORT_ROWS:
            raise InvalidInput(
                f"The import has more than {MAX_IMPORT_ROWS} users; split it.", field="users"
            )
    return rows


def _spec_of(raw: Any) -> NewUser:
    """An import row (a JSON object, or a CSV record of strings) as a NewUser, or
    InvalidInput naming the field at fault."""
    if not isinstance(raw, Mapping):
        raise InvalidInput("Each user must be an object (JSON) or a line (CSV).")
    for key in raw:
        if key not in IMPORT_FIELDS and key not in EXPORT_ONLY_FIELDS:
            raise InvalidInput(
                f"'{key}' is not a user field (fields: {', '.join(IMPORT_FIELDS)}).", field=key
            )
    username = _text(raw, "username")
    if username is None:
        raise InvalidInput("'username' is required.", field="username")
    policy_ids = raw.get("policy_ids")
    if isinstance(policy_ids, str):
        policy_ids = [p for p in re.split(r"[\s;,]+", policy_ids) if p]
    if policy_ids is not None and not (
        isinstance(policy_ids, list) and all(isinstance(p, str) for p in policy_ids)
    ):
        raise InvalidInput("'policy_ids' must be an array of policy IDs.", field="policy_ids")
    return NewUser(
        username=username,
        enabled=_flag(raw, "enabled", default=True),
        description=_text(raw, "description") or "",
        linux_user=_text(raw, "linux_user"),
        expiry=parse_expiry(_text(raw, "expiry")),
        external=_flag(raw, "external", default=False),
        password=_text(raw, "password"),
        random_password=_flag(raw, "random_password", default=False),
        temporary=_flag(raw, "temporary", default=None),
        policy_ids=tuple(policy_ids or ()),
    )


def _text(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None or isinstance(value, str):
        return value
    raise InvalidInput(f"'{key}' must be a string.", field=key)


_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}


def _flag(raw: Mapping[str, Any], key: str, *, default: bool | None) -> Any:
    value = raw.get(key)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise InvalidInput(f"'{key}' must be true or false.", field=key)


def parse_expiry(value: str | None, *, field: str = "expiry") -> datetime | None:
    """An RFC 3339 time or a date (``2026-12-31``, midnight UTC); one without a zone is
    UTC. None or an empty string: no expiry."""
    if value is None or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(
            f"The expiry {value[:40]!r} is not a time; use RFC 3339 such as "
            "2026-12-31T23:59:59Z, or a date such as 2026-12-31.",
            field=field,
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _check_new(db: Session, org: Organization, spec: NewUser) -> NewUser:
    """``spec`` checked against every rule but the name's uniqueness (checked by the
    caller, once for a whole import)."""
    USERNAME.check(spec.username, field="username")
    check_description(spec.description)
    linux_user = _check_linux_user(org, spec.linux_user)
    if spec.external and spec.sets_password:
        raise InvalidInput(
            "An external user signs in through its provider and has no password here; "
            "leave out password and random_password.",
            field="password",
        )
    if spec.password is not None and spec.random_password:
        raise InvalidInput(
            "Give a password or ask for a random one (random_password), not both.",
            field="random_password",
        )
    if spec.password is not None:
        check_password(spec.password, spec.username)
    if spec.temporary and not spec.sets_password:
        raise InvalidInput(
            "'temporary' applies to a password; give one (password or random_password).",
            field="temporary",
        )
    policy_ids = _check_policies(db, org.id, spec.policy_ids)
    return replace(spec, linux_user=linux_user, policy_ids=policy_ids)


def _check_linux_user(org: Organization, linux_user: str | None) -> str | None:
    if linux_user is None or linux_user == "":
        return None
    LINUX_USER.check(linux_user, field="linux_user")
    if linux_user == ROOT_ACCOUNT and not org.is_root:
        raise InvalidInput(
            "Only users of the root organization may have the Linux user root; choose "
            "another account.",
            field="linux_user",
        )
    return linux_user


def _check_policies(
    db: Session, organization_id: str, policy_ids: Sequence[str]
) -> tuple[str, ...]:
    """The IDs in order, each a built-in policy or one of the organization's own (another
    organization's policy is not found, like any object of another tenant)."""
    if len(policy_ids) > MAX_POLICIES:
        raise InvalidInput(
            f"{len(policy_ids)} policies given; a user holds at most {MAX_POLICIES}.",
            field="policy_ids",
        )
    seen: set[str] = set()
    for index, policy_id in enumerate(policy_ids):
        if policy_id in seen:
            raise InvalidInput(
                f"Policy {policy_id} is given twice; give each once.", field=f"policy_ids[{index}]"
            )
        seen.add(policy_id)
    own = q.organization_policy_ids(db, organization_id, seen - builtin.by_id().keys())
    for index, policy_id in enumerate(policy_ids):
        if policy_id not in builtin.by_id() and policy_id not in own:
            raise NotFound(f"Policy {policy_id} does not exist.", field=f"policy_ids[{index}]")
    return tuple(policy_ids)


def _insert(
    db: Session,
    principal: Principal,
    org: Organization,
    spec: NewUser,
    *,
    action: Action = Action.USER_CREATE,
) -> CreatedUser:
    generated = random_password(spec.username) if spec.random_password else None
    password = generated or spec.password
    user = User(
        id=new_id(Prefix.USER),
        organization_id=org.id,
        username=spec.username,
        password_hash=auth.hash_password(password) if password else None,
        temporary_password=bool(password) and spec.temporary is not False,
        external=spec.external,
        enabled=spec.enabled,
        expiry=spec.expiry,
        linux_user=spec.linux_user,
        description=spec.description,
        creation=clock.now(),
    )
    db.add(user)
    try:
        db.flush()
    except IntegrityError:  # the same name created at the same moment by another request
        raise Conflict(
            f"A user named {spec.username} already exists; choose another name.",
            field="username",
        ) from None
    _write_policies(db, user.id, spec.policy_ids)
    audit.record(db, principal, action, target_id=user.id, organization_id=org.id)
    return CreatedUser(user.id, generated)


# Changing --------------------------------------------------------------------------


def update_user(
    db: Session,
    principal: Principal,
    user_id: str,
    *,
    description: str | Keep = KEEP,
    enabled: bool | Keep = KEEP,
    expiry: datetime | Keep | None = KEEP,
    linux_user: str | Keep | None = KEEP,
    password: str | Keep = KEEP,
    random_password_: bool = False,
    temporary: bool | None = None,
) -> tuple[UserView, str | None]:
    """Change what is given; a new password (given, or ``random_password_``) is
    temporary unless ``temporary`` is False, and ends the user's sessions. Returns the
    user and the generated password, if one was."""
    user = _load(db, principal, user_id)
    authorize(principal, Action.USER_UPDATE, user.organization_id, (user.id,))
    if user.is_root and principal.user_id != user.id:
        raise Forbidden(f"Only {user.username} may change its own account: it owns the deployment.")
    org = db.get_one(Organization, user.organization_id)
    if not isinstance(description, Keep):
        user.description = check_description(description)
    if not isinstance(enabled, Keep) and not enabled:
        if user.is_root:
            raise Conflict(f"{user.username} can't be disabled: it owns the deployment.")
        if user.id == principal.user_id:
            raise Conflict("You can't disable your own user; ask another administrator.")
    if not isinstance(enabled, Keep):
        user.enabled = enabled
    if not isinstance(expiry, Keep):
        if user.is_root and expiry is not None:
            raise Conflict(f"{user.username} can't expire: it owns the deployment.")
        user.expiry = expiry
    if not isinstance(linux_user, Keep):
        user.linux_user = _check_linux_user(org, linux_user)
    generated = None
    new_password = None if isinstance(password, Keep) else password
    if random_password_ or new_password is not None or temporary is not None:
        if user.external:
            raise InvalidInput(
                f"User {user.username} signs in through an external provider and has no "
                "password here.",
                field="password",
            )
        if user.id == principal.user_id:
            raise InvalidInput(
                "Change your own password with POST /api/v1/auth/password, which asks for "
                "the current one.",
                field="password",
            )
        if random_password_ and new_password is not None:
            raise InvalidInput(
                "Give a password or ask for a random one (random_password), not both.",
                field="random_password",
            )
        if random_password_:
            generated = new_password = random_password(user.username)
        if new_password is None:
            raise InvalidInput(
                "'temporary' applies to a new password; give one (password or random_password).",
                field="temporary",
            )
        check_password(new_password, user.username)
        user.password_hash = auth.hash_password(new_password)
        # Someone else's choice of password is for one sign-in only, unless told so.
        user.temporary_password = temporary is not False
        end_sessions(db, user.id)
    audit.record(
        db, principal, Action.USER_UPDATE, target_id=user.id, organization_id=user.organization_id
    )
    db.flush()
    return _views(db, [user])[0], generated


def set_policies(
    db: Session, principal: Principal, user_id: str, policy_ids: Sequence[str]
) -> list[str]:
    """Give the user exactly ``policy_ids``, in this order (evaluated in it)."""
    user = _load(db, principal, user_id)
    authorize(principal, Action.USER_SET_POLICIES, user.organization_id, (user.id,))
    if user.is_root:
        raise Conflict(
            f"{user.username}'s access is not governed by policies: it may do everything."
        )
    ids = _check_policies(db, user.organization_id, policy_ids)
    db.execute(delete(UserPolicy).where(UserPolicy.user_id == user.id))
    _write_policies(db, user.id, ids)
    audit.record(
        db,
        principal,
        Action.USER_SET_POLICIES,
        target_id=user.id,
        organization_id=user.organization_id,
        message="policies: " + (", ".join(ids) or "none"),
    )
    return list(ids)


def delete_user(
    db: Session, principal: Principal, user_id: str, *, confirm: str | None = None
) -> None:
    user = _load(db, principal, user_id)
    authorize(principal, Action.USER_DELETE, user.organization_id, (user.id,))
    check_confirm(confirm, f"Deleting user {user.username} ({user.id})")
    if user.is_root:
        raise Conflict(f"{user.username} can't be deleted: it owns the deployment.")
    if user.id == principal.user_id:
        raise Conflict("You can't delete your own user; ask another administrator.")
    end_sessions(db, user.id)
    db.delete(user)
    audit.record(
        db, principal, Action.USER_DELETE, target_id=user.id, organization_id=user.organization_id
    )


# Helpers ---------------------------------------------------------------------------


def _write_policies(db: Session, user_id: str, policy_ids: Iterable[str]) -> None:
    for position, policy_id in enumerate(policy_ids):
        db.add(UserPolicy(user_id=user_id, policy_id=policy_id, position=position))
    db.flush()


def _organization(db: Session, principal: Principal, organization_id: str) -> Organization:
    org = tenancy_q.get_organization(db, organization_id, principal.scope)
    if org is None:
        # Not repeating the ID: list and export answers are searched for other tenants'
        # IDs (tests/unit/api/test_route_access.py), and the caller knows what it sent.
        raise NotFound(
            "No organization has the ID given as organization_id.", field="organization_id"
        )
    return org


def _load(db: Session, principal: Principal, user_id: str) -> User:
    user = q.get_user(db, user_id, principal.scope)
    if user is None:
        raise NotFound(f"User {user_id} does not exist.", field="id")
    return user


def _views(db: Session, users: Sequence[User]) -> list[UserView]:
    now = clock.now()
    ids = [u.id for u in users]
    locked_out = q.locked_out_user_ids(db, ids, now)
    policies = q.policy_ids_of(db, ids)
    return [
        UserView(
            id=u.id,
            organization_id=u.organization_id,
            username=u.username,
            enabled=u.enabled,
            locked=u.locked or u.id in locked_out,
            expiry=u.expiry,
            expired=u.expiry is not None and u.expiry <= now,
            mfa_enabled=u.mfa_enabled,
            is_root=u.is_root,
            linux_user=u.linux_user,
            description=u.description,
            creation=u.creation,
            external=u.external,
            temporary_password=u.temporary_password,
            policies=policies.get(u.id, []),
        )
        for u in users
    ]
