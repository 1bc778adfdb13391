"""The one way a tenancy object's name and description change: the name rule, then
uniqueness where it applies, then the description's length."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from cloudenv.errors import Conflict
from cloudenv.services.partial import Keep
from cloudenv.services.validation import NameRule, check_description


class Named(Protocol):
    name: str
    description: str


def rename(
    target: Named,
    *,
    rule: NameRule,
    name: str | Keep,
    description: str | Keep,
    taken: Callable[[str], bool],
    taken_message: str,
) -> None:
    """Apply the given fields; ``rule`` is the kind's name rule. ``taken(name)`` says
    whether another object already has the name; ``taken_message`` (with ``{name}``) says
    so to the caller."""
    if not isinstance(name, Keep):
        rule.check(name)
        if taken(name):
            raise Conflict(taken_message.format(name=repr(name)), field="name")
        target.name = name
    if not isinstance(description, Keep):
        target.description = check_description(description)
