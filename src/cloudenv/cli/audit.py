"""``cloudenv audit`` and ``cloudenv quota``: an organization's audit trail, and its
quotas with their usage."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
import typer
from pydantic import ValidationError
from rich.table import Table
from rich.text import Text

from cloudenv.api.schemas.iam_audit import QuotasUpdate
from cloudenv.cli.client import ApiClient, error_message, segment
from cloudenv.cli.output import console, fail, print_json, print_record, say

audit_app = typer.Typer(help="The audit trail of an organization.", no_args_is_help=True)
quota_app = typer.Typer(help="Quotas of an organization.", no_args_is_help=True)

Json = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
Organization = Annotated[
    str | None,
    typer.Option("--organization", "-o", help="Organization ID (default: your own)."),
]
AUDIT_COLUMNS = [
    ("time", "Time"),
    ("username", "User"),
    ("action", "Action"),
    ("target_id", "Target"),
    ("outcome", "Outcome"),
    ("status_code", "Status"),
    ("source_address", "Source"),
    ("message", "Message"),
]
QUOTAS = ("vcpus", "memory_mb", "storage_gb", "instances")


def _organization(client: ApiClient, organization: str | None) -> str:
    if organization:
        return organization
    me = client.get("/v1/auth/me")
    if not me.get("organization_id"):
        fail("You belong to no organization; name one with --organization.")
    return str(me["organization_id"])


@audit_app.command("list")
def audit_list(
    organization: Organization = None,
    user: Annotated[str | None, typer.Option(help="Only this user's actions (user ID).")] = None,
    action: Annotated[
        str | None, typer.Option(help="Only this action (instance.deploy) or family (instance.*).")
    ] = None,
    target: Annotated[str | None, typer.Option(help="Only actions on this object ID.")] = None,
    since: Annotated[
        str | None, typer.Option(help="From this time on (RFC 3339, e.g. 2026-01-31T08:00:00Z).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Before this time (RFC 3339).")] = None,
    entries: Annotated[int, typer.Option(help="Entries per page (1 to 5000).")] = 50,
    page: Annotated[int, typer.Option(help="The page, from 1 (newest).")] = 1,
    csv_: Annotated[bool, typer.Option("--csv", help="Print CSV, as the API sends it.")] = False,
    json_: Json = False,
) -> None:
    """Who did what to which object, how it ended, from where: newest first."""
    client = ApiClient.from_login()
    org_id = _organization(client, organization)
    params = {
        "entries": entries,
        "page": page,
        "user_id": user,
        "action": action,
        "target_id": target,
        "since": since,
        "until": until,
    }
    response = _get(
        client,
        f"/v1/organizations/{segment(org_id)}/audit",
        {k: str(v) for k, v in params.items() if v is not None},
        "text/csv" if csv_ else "application/json",
    )
    if csv_:
        typer.echo(response.text, nl=False)
        return
    rows: list[dict[str, Any]] = response.json()
    if json_:
        return print_json(rows)
    table = Table(title=f"Audit trail of {org_id}")
    for _, heading in AUDIT_COLUMNS:
        table.add_column(heading)
    for row in rows:
        # Text, not markup: usernames, targets and messages are whatever callers sent.
        table.add_row(*(Text("-" if row[k] is None else str(row[k])) for k, _ in AUDIT_COLUMNS))
    console.print(table)
    total = int(response.headers.get("X-Total-Count", len(rows)))
    first = (page - 1) * entries + 1
    shown = f"{first}-{first + len(rows) - 1}" if rows else "none"
    say(f"Entries {shown} of {total}, newest first (--page for more).")


def _get(client: ApiClient, path: str, params: dict[str, str], accept: str) -> httpx.Response:
    """A GET whose reply the caller reads itself (CSV, headers)."""
    try:
        response = client.http.get(path, params=params, headers={"Accept": accept})
    except httpx.ConnectError as exc:
        fail(f"Cannot reach {client.http.base_url}: {exc}.")
    if response.status_code >= 400:
        fail(error_message(response))
    return response


def _show_quotas(quotas: dict[str, Any]) -> None:
    usage = quotas["usage"]
    print_record(
        {
            name: f"{usage[name]} of {'unlimited' if quotas[name] is None else quotas[name]}"
            for name in QUOTAS
        },
        title="Quotas (in use of limit)",
    )


@quota_app.command("show")
def quota_show(organization: Organization = None, json_: Json = False) -> None:
    """The organization's quotas and what it uses now."""
    client = ApiClient.from_login()
    org_id = _organization(client, organization)
    quotas = client.get(f"/v1/organizations/{segment(org_id)}/quotas")
    print_json(quotas) if json_ else _show_quotas(quotas)


def _limit(value: str | None, name: str, current: int | None) -> int | None:
    if value is None:
        return current
    if value.lower() in ("unlimited", "none", "null"):
        return None
    try:
        return int(value)
    except ValueError:
        fail(f"--{name.replace('_', '-')} takes a whole number or 'unlimited', not {value!r}.")


Limit = Annotated[str | None, typer.Option(help="A whole number, or 'unlimited'.")]


@quota_app.command("set")
def quota_set(
    organization: Annotated[str, typer.Argument(help="Organization ID.")],
    vcpus: Limit = None,
    memory_mb: Limit = None,
    storage_gb: Limit = None,
    instances: Limit = None,
    json_: Json = False,
) -> None:
    """Change some limits, keeping the others (root organization administrators only)."""
    client = ApiClient.from_login()
    path = f"/v1/organizations/{segment(organization)}/quotas"
    current = client.get(path)
    given = {"vcpus": vcpus, "memory_mb": memory_mb, "storage_gb": storage_gb}
    given["instances"] = instances
    body = {n: _limit(given[n], n, current[n]) for n in QUOTAS}
    try:  # the API's own schema, before anything is sent (null is a value here)
        QuotasUpdate.model_validate(body)
    except ValidationError as exc:
        problems = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
        fail(f"Not sent: {problems}.")
    quotas = client.request("PUT", path, json=body)
    print_json(quotas) if json_ else _show_quotas(quotas)
