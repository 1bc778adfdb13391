"""Walking the API's own OpenAPI document: its operations, concrete paths for them, and
minimal request bodies built from their schemas. Used by the tests that check every
operation (declared errors, strict bodies), so a new route is covered by being served."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

MISSING_ID = "missing-0000000000000000000000"


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    spec: dict[str, Any]

    @property
    def declared(self) -> set[int]:
        return {int(s) for s in self.spec.get("responses", {}) if s.isdigit()}

    @property
    def json_body(self) -> dict[str, Any] | None:
        content = self.spec.get("requestBody", {}).get("content", {})
        return content.get("application/json", {}).get("schema")

    @property
    def concrete_path(self) -> str:
        """The path with every parameter naming an object that does not exist."""
        return re.sub(r"\{[^}]+\}", MISSING_ID, self.path)

    @property
    def required_query(self) -> dict[str, str]:
        return {
            p["name"]: MISSING_ID
            for p in self.spec.get("parameters", [])
            if p["in"] == "query" and p.get("required")
        }

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path}"


def operations(document: dict[str, Any]) -> Iterator[Operation]:
    for path, methods in sorted(document["paths"].items()):
        for method, spec in sorted(methods.items()):
            yield Operation(method, path, spec)


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with a top-level ``$ref`` (or a one-member ``anyOf`` with null) followed."""
    while True:
        if "$ref" in schema:
            schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        elif "anyOf" in schema:
            options = [s for s in schema["anyOf"] if s.get("type") != "null"]
            schema = options[0]
        elif "oneOf" in schema:
            schema = schema["oneOf"][0]
        else:
            return schema


def minimal(document: dict[str, Any], schema: dict[str, Any]) -> Any:
    """The smallest value ``schema`` accepts by type (required properties only)."""
    schema = resolve(document, schema)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type", "object")
    if kind == "object":
        properties = schema.get("properties", {})
        return {name: minimal(document, properties[name]) for name in schema.get("required", [])}
    return {
        "string": "abc-def",
        "integer": 1,
        "number": 1.5,
        "boolean": False,
        "array": [],
    }[kind]


#: A JSON value of the wrong kind for each JSON schema type.
WRONG_KIND = {"number": True, "integer": True, "string": 5, "boolean": "true"}
