"""Console tickets on the wire: the product's ``POST /v1/instances/{id}/console`` takes
``{}`` and answers ``{session_token}``; cloudenv adds which console the ticket opens,
where to connect and how long the ticket lasts."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from cloudenv.api.schemas.common import RequestBody, Schema


class ConsoleRequest(RequestBody):
    kind: Literal["vnc", "serial"] | None = Field(
        default=None,
        description="vnc (the screen, noVNC) or serial (xterm.js). Default: vnc for a "
        "virtual machine, serial for a container.",
        examples=["vnc"],
    )


class ConsoleSession(Schema):
    session_token: str = Field(
        description="Single-use ticket; present it as ?token= on the WebSocket within "
        "expires_in seconds.",
        examples=["q3Hn0tS1_ZbX3yJk2cWm0pQe8Rr9aVd7LsUu6TgYh4E"],
    )
    kind: Literal["vnc", "serial"] = Field(description="Which console the ticket opens.")
    websocket: str = Field(
        description="Path of the WebSocket to open on the instance's node, ticket included.",
        examples=["/api/v1/consoles/vnc?token=q3Hn0tS1_ZbX3yJk2cWm0pQe8Rr9aVd7LsUu6TgYh4E"],
    )
    expires_in: int = Field(description="Seconds the ticket stays valid.", examples=[30])


class NodeConsoleRequest(RequestBody):
    """The product's ``POST /v1/nodes/{id}/console`` takes ``{}``: the shell always runs as
    the caller's own Linux user."""


class NodeConsoleSession(Schema):
    session_token: str = Field(
        description="Single-use ticket; present it as ?token= on the WebSocket within "
        "expires_in seconds.",
        examples=["q3Hn0tS1_ZbX3yJk2cWm0pQe8Rr9aVd7LsUu6TgYh4E"],
    )
    linux_user: str = Field(description="The Linux user the shell runs as.", examples=["root"])
    websocket: str = Field(
        description="Path of the WebSocket to open on the node, ticket included. Frames: "
        'binary keystrokes in, binary terminal output out, and {"resize": {"cols": C, '
        '"rows": R}} as a text frame when the terminal\'s size changes.',
        examples=["/api/v1/consoles/shell?token=q3Hn0tS1_ZbX3yJk2cWm0pQe8Rr9aVd7LsUu6TgYh4E"],
    )
    expires_in: int = Field(description="Seconds the ticket stays valid.", examples=[30])


class NodeConsoleAccess(Schema):
    permitted: bool = Field(
        description="Whether the caller's policies allow node.console on this node (the "
        "node's Console tab is shown only then)."
    )
    linux_user: str | None = Field(
        description="The Linux user a shell would run as; null when none can be used."
    )
    message: str = Field(description="Why no shell can be opened; empty when one can.")
