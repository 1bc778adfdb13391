"""The API's contract: every operation declares the errors it can answer, and
``python -m cloudenv.api.openapi`` prints the document.

The error statuses are not written per route: :func:`declare_errors` takes them from the
route table (``api/routes.py``: signed-in only, has a body, names objects, changes state)
and declares each with the one error schema ``ErrorBody``. A route may still add a status
its shape doesn't show with ``responses={status: {"description": ...}}``. FastAPI's 422
is removed: validation errors are 400 here.

The committed ``docs/openapi.json`` must equal the printed document (``make check-openapi``),
so an API change is always a reviewed change of the document clients are generated from.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy.orm import sessionmaker

from cloudenv.api.routes import RouteTable
from cloudenv.api.schemas.common import ErrorBody

ERROR_SCHEMA = "#/components/schemas/ErrorBody"
ERROR_DESCRIPTIONS = {
    400: "The request is not valid: a field, parameter or body breaks a rule; `field` "
    "names it. Nothing was changed.",
    401: "No valid credentials: sign in (POST /api/v1/auth/login) and send the token.",
    403: "Signed in, but not allowed to do this; or a change signed in by the session "
    "cookie from a browser without the `X-Requested-With` header (any value), which the "
    "API requires against cross-site request forgery.",
    404: "The object named in the path, query or body does not exist or is not visible "
    "to the caller.",
    409: "The object's state forbids it now (busy, not empty, name taken, ...).",
    413: "The request body is larger than the API accepts (1 MiB).",
    429: "The caller already holds as many of these at once as one user may; retry once "
    "one has ended.",
}


#: The extension naming each signed-in operation's IAM action (``api/permissions.py``).
ACTION_EXTENSION = "x-cloudenv-action"


def _error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": ERROR_SCHEMA}}},
    }


def _add_errors(document: dict[str, Any], table: RouteTable) -> None:
    paths = document.get("paths", {})
    for rule in table.rules:
        for method in rule.methods:
            operation = paths.get(rule.path, {}).get(method.lower())
            if operation is None:  # not in the schema (include_in_schema=False)
                continue
            if rule.needs_principal:
                # The action the caller's policies must allow; None: any signed-in caller.
                operation[ACTION_EXTENSION] = rule.action.value if rule.action else None
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            statuses = set(rule.error_statuses())
            statuses |= {int(s) for s in responses if s.isdigit() and int(s) >= 400}
            for status in sorted(statuses):
                given = responses.get(str(status), {})
                description = given.get("description") or ERROR_DESCRIPTIONS.get(status, "")
                responses[str(status)] = _error_response(description or "Refused.")
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["ErrorBody"] = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")


def declare_errors(app: FastAPI, table: RouteTable) -> None:
    """Make ``app``'s OpenAPI document declare every operation's errors (see module doc)."""
    build = app.openapi

    def with_errors() -> dict[str, Any]:
        if app.openapi_schema is None:
            _add_errors(build(), table)
        return app.openapi_schema or build()

    app.openapi = with_errors  # type: ignore[method-assign]


def document() -> dict[str, Any]:
    from cloudenv.api.app import create_app
    from cloudenv.config import Settings

    settings = Settings(
        data_dir=Path("/nonexistent"),
        node_id="node-openapi",
        database_url="sqlite://",
        management_ip="127.0.0.1",
    )
    return create_app(settings, sessionmaker()).openapi()


if __name__ == "__main__":
    json.dump(document(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
