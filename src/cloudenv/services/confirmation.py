"""The server's half of confirming a destructive call (destroy, delete, detach).

The product's API takes no confirmation word: its clients ask their user first (its web
UI makes the user type ``DESTROY``, its MCP server asks its caller ``are_you_sure``) and
then call without one. So a destructive call works without ``confirm``, and the server's
state rules still decide (a running instance can't be destroyed). A ``confirm`` that is
given must be exactly ``DESTROY``: a client that sends a word means to confirm, and a
wrong one (``yes``, ``destroy``) is refused rather than taken as consent. cloudenv's own
CLI and web UI always ask their user. Every destructive service calls ``check_confirm``
before it changes anything.
"""

from __future__ import annotations

from cloudenv.errors import InvalidInput

#: The one confirmation word, as the product's web UI asks the user to type it.
DESTROY_WORD = "DESTROY"


def check_confirm(confirm: str | None, what: str) -> None:
    """Refuse a ``confirm`` that is given but is not ``DESTROY``; ``what`` names the
    action and its object ("Destroying instance web-1 (inst-…)")."""
    if confirm is None or confirm == DESTROY_WORD:
        return
    raise InvalidInput(
        f"{what} can't be undone, and confirm={confirm[:40]!r} is not the confirmation "
        f"word: send confirm={DESTROY_WORD} (exactly), or leave confirm out.",
        field="confirm",
    )
