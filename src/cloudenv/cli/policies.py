"""``cloudenv policy``: an organization's IAM policies (built-in and its own)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from cloudenv.api.schemas.policies import PolicyCreate
from cloudenv.cli.client import ApiClient, request_body, segment
from cloudenv.cli.output import (
    confirm_destructive,
    fail,
    print_json,
    print_record,
    print_table,
    say,
)

Json = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
Confirm = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
Organization = Annotated[
    str | None,
    typer.Option("--organization", "-o", help="The organization's ID (default: your own)."),
]

policy_app = typer.Typer(help="IAM policies.", no_args_is_help=True)

STATEMENT_COLUMNS = [
    ("action", "Action"),
    ("effect", "Effect"),
    ("resource", "Resource"),
    ("rules", "Rules"),
]


@policy_app.command("list")
def policy_list(organization: Organization = None, json_: Json = False) -> None:
    """The built-in policies, then the organization's own."""
    found = ApiClient.from_login().get("/v1/policies", organization_id=organization)
    if json_:
        return print_json(found)
    rows = [{**p, "statements": len(p["statements"])} for p in found]
    print_table(
        rows,
        [
            ("id", "ID"),
            ("name", "Name"),
            ("builtin", "Built-in"),
            ("statements", "Statements"),
            ("user_count", "Users"),
            ("description", "Description"),
        ],
    )


@policy_app.command("show")
def policy_show(policy_id: str, json_: Json = False) -> None:
    policy = ApiClient.from_login().get(f"/v1/policies/{segment(policy_id)}")
    if json_:
        return print_json(policy)
    print_record({k: v for k, v in policy.items() if k != "statements"}, title="Policy")
    rows = [{**s, "rules": s["rules"] or None} for s in policy["statements"]]
    print_table(rows, STATEMENT_COLUMNS, title="Statements")


@policy_app.command("create")
def policy_create(
    file: Annotated[
        str,
        typer.Argument(
            help="A JSON file {name, description, statements: [{action, effect, resource, "
            "rules?}]}, or - for standard input."
        ),
    ],
    organization: Organization = None,
    name: Annotated[str | None, typer.Option(help="Instead of the file's name.")] = None,
    json_: Json = False,
) -> None:
    """Create a policy from a JSON file (the actions are `cloudenv policy actions`)."""
    given = _read(file)
    body = request_body(
        PolicyCreate,
        name=name or given.get("name"),
        description=given.get("description"),
        statements=given.get("statements"),
        organization_id=organization or given.get("organization_id"),
    )
    created = ApiClient.from_login().post("/v1/policies", body)
    print_json(created) if json_ else say(f"Created policy {created['id']}")


@policy_app.command("actions")
def policy_actions(json_: Json = False) -> None:
    """Every action a statement may name."""
    found = ApiClient.from_login().get("/v1/policies/actions")
    if json_:
        return print_json(found)
    print_table(found, [("action", "Action"), ("area", "Area"), ("reads", "Reads only")])


@policy_app.command("delete")
def policy_delete(policy_id: str, yes: Confirm = False) -> None:
    """Refused for a built-in policy and for one some user still holds."""
    confirm_destructive(f"delete policy {policy_id}", yes)
    ApiClient.from_login().delete(f"/v1/policies/{segment(policy_id)}")
    say(f"Deleted policy {policy_id}")


def _read(file: str) -> dict[str, Any]:
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text()
    except OSError as exc:
        fail(f"Cannot read {file}: {exc.strerror}.")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"{file} is not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).")
    if not isinstance(data, dict):
        fail(f"{file} holds {type(data).__name__}; a policy is an object {{name, statements}}.")
    return data
