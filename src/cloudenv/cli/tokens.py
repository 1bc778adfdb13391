"""``cloudenv token list|create|delete``: API tokens, one's own unless ``--user`` names
another user (which needs the token permissions in that user's organization)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from cloudenv.api.schemas.tokens import TokenCreate
from cloudenv.cli.client import ApiClient, request_body, segment
from cloudenv.cli.output import confirm_destructive, print_json, print_table, say, warn

token_app = typer.Typer(help="API tokens (for scripts and clients).", no_args_is_help=True)

Json = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
UserOption = Annotated[
    str | None, typer.Option("--user", help="A user ID; default: the signed-in user.")
]
COLUMNS = [
    ("id", "ID"),
    ("name", "Name"),
    ("expiry", "Expiry"),
    ("last_used", "Last used"),
    ("creation", "Created"),
]


def _tokens_path(api: ApiClient, user: str | None) -> str:
    user_id = user or api.get("/v1/auth/me")["id"]
    return f"/v1/users/{segment(user_id)}/tokens"


@token_app.command("list")
def token_list(user: UserOption = None, json_: Json = False) -> None:
    api = ApiClient.from_login()
    tokens = api.get(_tokens_path(api, user))
    if json_:
        return print_json(tokens)
    print_table(tokens, COLUMNS)


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Option(help="A name to tell it by, e.g. the script using it.")],
    expiry: Annotated[
        datetime | None, typer.Option(help="When it stops working (UTC); default never.")
    ] = None,
    user: UserOption = None,
    json_: Json = False,
) -> None:
    """Create a token and print its secret, which is shown this once."""
    api = ApiClient.from_login()
    when = None if expiry is None else expiry.replace(tzinfo=expiry.tzinfo or UTC)
    body = request_body(TokenCreate, name=name, expiry=when)
    created = api.post(_tokens_path(api, user), body)
    if json_:
        return print_json(created)
    say(f"Created token {created['name']} ({created['id']}). Its secret, shown only now:")
    typer.echo(created["token"])
    warn("Keep it like a password: send it as 'Authorization: Bearer <token>'.")


@token_app.command("delete")
def token_delete(
    token_id: str,
    user: UserOption = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Delete a token: whatever uses it is refused from now on."""
    confirm_destructive(f"delete token {token_id}", yes)
    api = ApiClient.from_login()
    api.delete(f"{_tokens_path(api, user)}/{segment(token_id)}")
    say(f"Deleted token {token_id}")
