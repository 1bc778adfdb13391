"""``cloudenv user …``: an organization's users, their policies and passwords, import and
export. Bodies are built by the API's own schemas; passwords are read from a file or
typed at a hidden prompt, never taken as command-line arguments (a process list and the
shell's history would show them)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from cloudenv.api.schemas.users import PasswordChange, UserCreate, UserPolicies, UserUpdate
from cloudenv.cli.client import ApiClient, error_message, request_body, segment
from cloudenv.cli.output import (
    confirm_destructive,
    fail,
    print_json,
    print_record,
    print_table,
    say,
    warn,
)

Json = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
Organization = Annotated[str, typer.Option("--organization", help="Organization ID.")]
PasswordFile = Annotated[
    Path | None, typer.Option(help="Read the password from this file (its first line).")
]
Temporary = Annotated[
    bool | None,
    typer.Option(
        "--temporary/--permanent",
        help="Whether the user must change the password at the next sign-in (default: must).",
    ),
]

user_app = typer.Typer(help="Users of an organization.", no_args_is_help=True)

USER_COLUMNS = [
    ("id", "ID"),
    ("username", "User name"),
    ("organization_id", "Organization"),
    ("enabled", "Enabled"),
    ("locked", "Locked"),
    ("expired", "Expired"),
    ("policies", "Policies"),
    ("description", "Description"),
]
RESULT_COLUMNS = [
    ("row", "Row"),
    ("username", "User name"),
    ("ok", "OK"),
    ("id", "ID"),
    ("password", "Password (shown once)"),
    ("error.message", "Problem"),
]


def _read_password_file(path: Path) -> str:
    try:
        text = path.read_text()
    except OSError as exc:
        fail(f"Cannot read the password file {path}: {exc.strerror}.")
    return text.splitlines()[0] if text else ""


def _ask_new_password(prompt: str) -> str:
    first = typer.prompt(prompt, hide_input=True)
    if typer.prompt("Repeat it", hide_input=True) != first:
        fail("The two passwords differ; nothing was changed.")
    return str(first)


def _show_password(password: str | None, username: str) -> None:
    if password:
        say(f"Password of {username} (shown this once): {password}")


@user_app.command("list")
def user_list(
    organization: Annotated[str | None, typer.Option(help="Organization ID.")] = None,
    json_: Json = False,
) -> None:
    rows = ApiClient.from_login().get("/v1/users", organization_id=organization)
    print_json(rows) if json_ else print_table(rows, USER_COLUMNS)


@user_app.command("show")
def user_show(user_id: str, json_: Json = False) -> None:
    user = ApiClient.from_login().get(f"/v1/users/{segment(user_id)}")
    print_json(user) if json_ else print_record(user, title="User")


@user_app.command("create")
def user_create(
    username: str,
    organization: Organization,
    description: str | None = None,
    linux_user: Annotated[
        str | None, typer.Option(help="POSIX account for the node console.")
    ] = None,
    expiry: Annotated[
        str | None, typer.Option(help="RFC 3339 time or a date (2026-12-31).")
    ] = None,
    disabled: Annotated[bool, typer.Option("--disabled", help="Create it disabled.")] = False,
    external: Annotated[
        bool, typer.Option("--external", help="Signs in through an external provider.")
    ] = False,
    password_file: PasswordFile = None,
    ask_password: Annotated[
        bool, typer.Option("--ask-password", help="Type the password at a hidden prompt.")
    ] = False,
    random_password: Annotated[
        bool, typer.Option("--random-password", help="Generate one; it is shown once.")
    ] = False,
    temporary: Temporary = None,
    policy: Annotated[
        list[str] | None, typer.Option("--policy", help="A policy ID; repeat, in order.")
    ] = None,
    json_: Json = False,
) -> None:
    """Create a user. Without a password (file, prompt or random) it can't sign in until
    an administrator sets one (``cloudenv user passwd USER_ID``)."""
    password = _read_password_file(password_file) if password_file else None
    if ask_password:
        password = _ask_new_password(f"Password for {username}")
    body = request_body(
        UserCreate,
        organization_id=organization,
        username=username,
        description=description,
        linux_user=linux_user,
        expiry=expiry,
        enabled=not disabled,
        external=external,
        password=password,
        random_password=random_password or None,
        temporary=temporary,
        policy_ids=policy,
    )
    created = ApiClient.from_login().post("/v1/users", body)
    if json_:
        return print_json(created)
    say(f"Created user {username} ({created['id']})")
    _show_password(created.get("password"), username)


@user_app.command("delete")
def user_delete(
    user_id: str, yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False
) -> None:
    """Delete a user (asks for the word DESTROY)."""
    confirm_destructive(f"delete user {user_id}", yes)
    ApiClient.from_login().delete(f"/v1/users/{segment(user_id)}", confirm="DESTROY")
    say(f"Deleted user {user_id}")


@user_app.command("set-policies")
def user_set_policies(
    user_id: str,
    policy_ids: Annotated[
        list[str] | None, typer.Argument(help="Policy IDs, in evaluation order.")
    ] = None,
    none: Annotated[bool, typer.Option("--none", help="Take every policy away.")] = False,
    json_: Json = False,
) -> None:
    """Give the user exactly these policies, in this order."""
    if not policy_ids and not none:
        fail("Name the policies (e.g. pol-builtin-operator), or --none to take all away.")
    body = request_body(UserPolicies, policy_ids=list(policy_ids or []))
    reply = ApiClient.from_login().request(
        "PUT", f"/v1/users/{segment(user_id)}/policies", json=body
    )
    if json_:
        return print_json(reply)
    say(f"Policies of {user_id}: {', '.join(reply['policy_ids']) or 'none'}")


@user_app.command("passwd")
def user_passwd(
    user_id: Annotated[
        str | None, typer.Argument(help="Another user's ID; leave out for your own.")
    ] = None,
    password_file: PasswordFile = None,
    random_password: Annotated[
        bool, typer.Option("--random-password", help="Generate one; it is shown once.")
    ] = False,
    temporary: Temporary = None,
) -> None:
    """Change your own password (asks for the current one), or set another user's."""
    client = ApiClient.from_login()
    if user_id is None:
        if random_password or temporary is not None:
            fail("--random-password and --temporary apply to another user's password.")
        current = typer.prompt("Current password", hide_input=True)
        new = (
            _read_password_file(password_file)
            if password_file
            else _ask_new_password("New password")
        )
        body = request_body(PasswordChange, current_password=current, new_password=new)
        client.post("/v1/auth/password", body)
        return say("Your password is changed; your other sessions have ended.")
    password = None
    if password_file:
        password = _read_password_file(password_file)
    elif not random_password:
        password = _ask_new_password(f"New password for {user_id}")
    body = request_body(
        UserUpdate, password=password, random_password=random_password or None, temporary=temporary
    )
    user = client.patch(f"/v1/users/{segment(user_id)}", body)
    say(f"Password of {user['username']} set; their sessions have ended.")
    _show_password(user.get("password"), user["username"])


@user_app.command("import")
def user_import(
    file: Annotated[Path, typer.Argument(help="A .csv file (header row) or a JSON array.")],
    organization: Organization,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check every row; create nothing.")
    ] = False,
    json_: Json = False,
) -> None:
    """Import users, all or nothing: one refused row and none is created."""
    try:
        content = file.read_bytes()
    except OSError as exc:
        fail(f"Cannot read {file}: {exc.strerror}.")
    is_csv = file.suffix.lower() == ".csv"
    client = ApiClient.from_login()
    response = _send(
        client,
        "POST",
        "/v1/users/import",
        params={"organization_id": organization, "dry_run": "true" if dry_run else "false"},
        content=content,
        headers={"Content-Type": "text/csv" if is_csv else "application/json"},
    )
    body = response.json()
    # A refused import's rows come as the error's details.
    results: list[dict[str, Any]] = (body.get("details") or []) if isinstance(body, dict) else body
    if json_:
        print_json(body)
    elif results:
        print_table(results, RESULT_COLUMNS)
    if response.status_code >= 400:
        fail(error_message(response))
    if not json_:
        made = sum(1 for r in results if r["ok"])
        if dry_run:
            refused = len(results) - made
            say(f"Dry run: {made} would be created, {refused} refused; nothing was created.")
        else:
            say(f"Created {made} users.")
            if any(r.get("password") for r in results):
                warn("The generated passwords above are shown this once.")


@user_app.command("export")
def user_export(
    organization: Organization,
    csv: Annotated[bool, typer.Option("--csv", help="CSV instead of JSON.")] = False,
    output: Annotated[Path | None, typer.Option(help="Write to this file.")] = None,
) -> None:
    """Export an organization's users (no passwords), to import elsewhere."""
    response = _send(
        ApiClient.from_login(),
        "GET",
        "/v1/users/export",
        params={"organization_id": organization},
        headers={"Accept": "text/csv" if csv else "application/json"},
    )
    if response.status_code >= 400:
        fail(error_message(response))
    text = response.text if csv else json.dumps(response.json(), indent=2) + "\n"
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text)
        say(f"Wrote {output}")


def _send(client: ApiClient, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """The raw reply (a CSV, or an error with per-row details), not just its JSON."""
    try:
        return client.http.request(method, path, **kwargs)
    except httpx.ConnectError as exc:
        fail(f"Cannot reach {client.http.base_url}: {exc}.")
