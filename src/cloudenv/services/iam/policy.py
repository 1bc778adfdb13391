"""IAM policies: their statements, checked when written, and compiled for evaluation.

A statement is ``{action, effect, resource, rules?}``:

- ``action``: an action name (``instance.power``), a family (``instance.*``) or ``*``.
- ``effect``: ``allow`` or ``deny``.
- ``resource``: ``*``; an ID or ID pattern naming the object itself (``inst-abc``,
  ``cls-*``); or a subtree, everything beneath an object (``dc-abc/*``).
- ``rules`` (all must hold): ``{field, operator, value}`` on ``env.day_of_week``
  (``mon`` … ``sun``), ``env.time_of_day`` (``HH:MM``, the node's local time) or ``id``
  (the target's ID, a pattern).

A user's policies are evaluated together. Any statement that matches and denies wins;
without one, a matching allow allows; with no match at all the answer is no. Because a
deny always wins, the order of statements never changes an answer, which is what lets
evaluation collapse each action's statements into a few sets and one regular
expression: a tree of 10,000 instances against a 1,024-statement policy costs one
set lookup and one regex match per object, not a million pattern matches.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from fnmatch import translate
from functools import lru_cache
from typing import Any

from cloudenv import clock
from cloudenv.errors import InvalidInput

#: Any moment: what a policy without environment rules is compiled for.
_ANY_TIME = datetime(2000, 1, 3)

#: The most statements one policy may hold (as the product documents).
MAX_STATEMENTS = 1024

#: The path of a target from its organization down to itself, e.g.
#: ``("org-…", "dc-…", "cls-…", "node-…", "inst-…")``.
ResourcePath = tuple[str, ...]


class Effect(StrEnum):
    ALLOW = "allow"
    DENY = "deny"


class RuleField(StrEnum):
    DAY_OF_WEEK = "env.day_of_week"
    TIME_OF_DAY = "env.time_of_day"
    ID = "id"


class RuleOperator(StrEnum):
    EQUALS = "equals"
    NOT_EQUALS = "not_equals"
    IN = "in"
    NOT_IN = "not_in"
    #: ``env.time_of_day`` only: ``["09:00", "17:00"]``, wrapping past midnight when the
    #: start is later than the end.
    BETWEEN = "between"
    #: ``id`` only: an ID pattern.
    MATCHES = "matches"


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\d")
_ACTION = re.compile(r"\*|[a-z_]+\.(?:\*|[a-z_]+)")
_RESOURCE = re.compile(r"\*|[A-Za-z0-9_*?-]{1,64}(?:/\*)?")
_ID_PATTERN = re.compile(r"[A-Za-z0-9_*?-]{1,64}")


@dataclass(frozen=True)
class Rule:
    field: RuleField
    operator: RuleOperator
    value: str | tuple[str, ...]

    def holds_at(self, when: datetime) -> bool:
        """For environment rules: whether it holds at ``when`` (local time)."""
        if self.field is RuleField.DAY_OF_WEEK:
            return self._compare(DAYS[when.weekday()])
        if self.field is RuleField.TIME_OF_DAY:
            now = when.strftime("%H:%M")
            if self.operator is RuleOperator.BETWEEN:
                start, end = self.value[0], self.value[1]
                return start <= now < end if start <= end else now >= start or now < end
            return self._compare(now)
        return True

    def holds_for(self, target_id: str) -> bool:
        """For ``id`` rules: whether it holds for the target."""
        if self.operator is RuleOperator.MATCHES:
            return _glob(str(self.value)).fullmatch(target_id) is not None
        return self._compare(target_id)

    def _compare(self, actual: str) -> bool:
        values = (self.value,) if isinstance(self.value, str) else self.value
        match self.operator:
            case RuleOperator.EQUALS | RuleOperator.IN:
                return actual in values
            case RuleOperator.NOT_EQUALS | RuleOperator.NOT_IN:
                return actual not in values
        return False


@dataclass(frozen=True)
class Statement:
    action: str
    effect: Effect
    resource: str
    rules: tuple[Rule, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "action": self.action,
            "effect": self.effect.value,
            "resource": self.resource,
        }
        if self.rules:
            out["rules"] = [
                {
                    "field": r.field.value,
                    "operator": r.operator.value,
                    "value": r.value if isinstance(r.value, str) else list(r.value),
                }
                for r in self.rules
            ]
        return out

    def covers(self, action: str) -> bool:
        """Whether this statement's action (or action pattern) names ``action``."""
        return action_matches(self.action, action)


def action_matches(pattern: str, action: str) -> bool:
    if pattern == "*" or pattern == action:
        return True
    return pattern.endswith(".*") and action.startswith(pattern[:-1])


# --- checking statements as written ---------------------------------------------------


def parse_statements(
    raw: Sequence[Mapping[str, Any]],
    known_actions: Collection[str] | None,
    field: str = "statements",
) -> tuple[Statement, ...]:
    """Statements from a request body, each checked; InvalidInput names the first wrong
    field (``statements[3].resource``) and what it should be. ``known_actions`` None
    skips the check that each action names one (for statements read back from the
    store, written when the vocabulary may have been larger)."""
    # A body is JSON: a string or an object here is a client's mistake, not a list of
    # statements (iterating one would check its characters or its keys as statements).
    if isinstance(raw, str | bytes | Mapping) or not isinstance(raw, Sequence):
        raise InvalidInput("The statements are a list of {action, effect, resource}.", field=field)
    if len(raw) > MAX_STATEMENTS:
        raise InvalidInput(
            f"A policy holds at most {MAX_STATEMENTS} statements (this one has {len(raw)}).",
            field=field,
        )
    return tuple(_statement(item, known_actions, f"{field}[{i}]") for i, item in enumerate(raw))


def _statement(item: Any, known: Collection[str] | None, at: str) -> Statement:
    if not isinstance(item, Mapping):
        raise InvalidInput("A statement is an object {action, effect, resource, rules?}.", field=at)
    extra = set(item) - {"action", "effect", "resource", "rules"}
    if extra:
        raise InvalidInput(f"Unknown field {sorted(extra)[0]!r} in a statement.", field=at)
    action = item.get("action")
    if not isinstance(action, str) or not _ACTION.fullmatch(action):
        raise InvalidInput(
            "The action is an action name such as 'instance.power', a family such as "
            "'instance.*', or '*'.",
            field=f"{at}.action",
        )
    if known is not None and not any(action_matches(action, name) for name in known):
        raise InvalidInput(
            f"No action is named {action!r}; see GET /api/v1/policies/actions for the list.",
            field=f"{at}.action",
        )
    effect = item.get("effect")
    if effect not in (Effect.ALLOW.value, Effect.DENY.value):
        raise InvalidInput("The effect is 'allow' or 'deny'.", field=f"{at}.effect")
    resource = item.get("resource", "*")
    if not isinstance(resource, str) or not _RESOURCE.fullmatch(resource):
        raise InvalidInput(
            "The resource is '*', an ID or ID pattern such as 'inst-*', or a subtree such "
            "as 'dc-…/*'.",
            field=f"{at}.resource",
        )
    rules = item.get("rules") or []
    if not isinstance(rules, list):
        raise InvalidInput("The rules are a list.", field=f"{at}.rules")
    return Statement(
        action=action,
        effect=Effect(effect),
        resource=resource,
        rules=tuple(_rule(r, f"{at}.rules[{j}]") for j, r in enumerate(rules)),
    )


def _rule(raw: Any, at: str) -> Rule:
    if not isinstance(raw, Mapping) or set(raw) - {"field", "operator", "value"}:
        raise InvalidInput("A rule is {field, operator, value}.", field=at)
    try:
        rule_field = RuleField(str(raw.get("field")))
    except ValueError:
        names = ", ".join(f.value for f in RuleField)
        raise InvalidInput(f"A rule's field is one of {names}.", field=f"{at}.field") from None
    try:
        operator = RuleOperator(str(raw.get("operator")))
    except ValueError:
        names = ", ".join(o.value for o in RuleOperator)
        raise InvalidInput(
            f"A rule's operator is one of {names}.", field=f"{at}.operator"
        ) from None
    value = raw.get("value")
    listed = operator in (RuleOperator.IN, RuleOperator.NOT_IN, RuleOperator.BETWEEN)
    if listed:
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise InvalidInput(f"'{operator.value}' takes a list of strings.", field=f"{at}.value")
        checked: str | tuple[str, ...] = tuple(value)
    elif isinstance(value, str):
        checked = value
    else:
        raise InvalidInput(f"'{operator.value}' takes one string.", field=f"{at}.value")
    values = (checked,) if isinstance(checked, str) else checked
    allowed_ops, valid, what = _RULE_SHAPES[rule_field]
    if operator not in allowed_ops:
        ops = ", ".join(o.value for o in allowed_ops)
        raise InvalidInput(f"{rule_field.value} takes the operators {ops}.", field=f"{at}.operator")
    if operator is RuleOperator.BETWEEN and (len(values) != 2 or values[0] == values[1]):
        # An empty window would never hold: certainly not what its author meant.
        raise InvalidInput(
            "'between' takes [start, end], two different times.", field=f"{at}.value"
        )
    if not all(valid(v) for v in values):
        raise InvalidInput(f"{rule_field.value} values are {what}.", field=f"{at}.value")
    return Rule(rule_field, operator, checked)


_EQ = (RuleOperator.EQUALS, RuleOperator.NOT_EQUALS, RuleOperator.IN, RuleOperator.NOT_IN)
_RULE_SHAPES: dict[RuleField, tuple[tuple[RuleOperator, ...], Any, str]] = {
    RuleField.DAY_OF_WEEK: (_EQ, lambda v: v in DAYS, "mon, tue, wed, thu, fri, sat or sun"),
    RuleField.TIME_OF_DAY: (
        (*_EQ, RuleOperator.BETWEEN),
        lambda v: _TIME.fullmatch(v) is not None,
        "times as HH:MM (24-hour, the node's local time)",
    ),
    RuleField.ID: (
        (*_EQ, RuleOperator.MATCHES),
        lambda v: _ID_PATTERN.fullmatch(v) is not None,
        "IDs or ID patterns such as 'inst-*'",
    ),
}


# --- evaluation -----------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(translate(pattern))


def _any_of(patterns: Iterable[str]) -> re.Pattern[str] | None:
    """One regular expression matching any of the ID patterns, or None for none."""
    parts = sorted({translate(p) for p in patterns})
    return re.compile("|".join(f"(?:{p})" for p in parts)) if parts else None


@dataclass
class _Side:
    """The resources one effect's statements name, for one action at one time."""

    everything: bool = False
    ids: set[str] = field(default_factory=set)
    id_patterns: list[str] = field(default_factory=list)
    subtrees: set[str] = field(default_factory=set)
    subtree_patterns: list[str] = field(default_factory=list)
    #: Statements with ``id`` rules, checked one by one.
    ruled: list[Statement] = field(default_factory=list)
    id_regex: re.Pattern[str] | None = None
    subtree_regex: re.Pattern[str] | None = None

    def add(self, statement: Statement) -> None:
        if any(r.field is RuleField.ID for r in statement.rules):
            self.ruled.append(statement)
        elif statement.resource == "*":
            self.everything = True
        elif statement.resource.endswith("/*"):
            target = statement.resource[:-2]
            if _is_pattern(target):
                self.subtree_patterns.append(target)
            else:
                self.subtrees.add(target)
        elif _is_pattern(statement.resource):
            self.id_patterns.append(statement.resource)
        else:
            self.ids.add(statement.resource)

    def seal(self) -> None:
        self.id_regex = _any_of(self.id_patterns)
        self.subtree_regex = _any_of(self.subtree_patterns)

    @property
    def empty(self) -> bool:
        return not (
            self.everything
            or self.ids
            or self.id_patterns
            or self.subtrees
            or self.subtree_patterns
            or self.ruled
        )

    def matches(self, path: ResourcePath) -> bool:
        if self.everything:
            return True
        if not path:
            return False
        target, above = path[-1], path[:-1]
        if target in self.ids or any(a in self.subtrees for a in above):
            return True
        if self.id_regex is not None and self.id_regex.fullmatch(target):
            return True
        if self.subtree_regex is not None and any(self.subtree_regex.fullmatch(a) for a in above):
            return True
        return any(_statement_matches(s, path) for s in self.ruled)


def _is_pattern(value: str) -> bool:
    return "*" in value or "?" in value


def _statement_matches(statement: Statement, path: ResourcePath) -> bool:
    if not all(r.holds_for(path[-1]) for r in statement.rules if r.field is RuleField.ID):
        return False
    resource = statement.resource
    if resource == "*":
        return True
    if resource.endswith("/*"):
        pattern = _glob(resource[:-2])
        return any(pattern.fullmatch(a) for a in path[:-1])
    return _glob(resource).fullmatch(path[-1]) is not None


@dataclass(frozen=True)
class ActionRules:
    """What one action's statements allow and deny at one moment."""

    allow: _Side
    deny: _Side

    def allows(self, path: ResourcePath) -> bool:
        return not self.deny.matches(path) and self.allow.matches(path)

    @property
    def allows_everything(self) -> bool:
        """Whether every target is allowed: an allow of ``*`` and no deny at all. Lists
        and the tree skip their per-object checks then (the Administrator's case)."""
        return self.allow.everything and self.deny.empty

    @property
    def allows_something(self) -> bool:
        """Whether some target could be allowed: an allow exists that no deny of
        everything overrides. The route gate asks this before the target is known."""
        return not self.allow.empty and not self.deny.everything


class CompiledPolicy:
    """A user's policies, ready to answer "may they do ``action`` to ``path`` now?".

    Built once per (policy, revision) set and shared across requests; each action's
    rules are compiled on first use and kept per minute of the week, since the
    environment rules change answers only with the day and the time of day.
    """

    def __init__(self, statements: Sequence[Statement], identity: Hashable = None) -> None:
        self.statements = tuple(statements)
        #: What these statements are (``principals``: the (policy, revision) set), for
        #: caches of answers; None when unknown.
        self.identity = identity
        self._timeless = not any(
            r.field is not RuleField.ID for s in self.statements for r in s.rules
        )
        self._cache: dict[tuple[str, int], ActionRules] = {}

    def answers_key(self) -> Hashable:
        """What the answers depend on now: the statements and, for a policy with
        environment rules, the minute of the week. Two callers with the same key get the
        same answers, so a reply filtered for one may be served to the other. None when
        the statements have no identity."""
        if self.identity is None:
            return None
        if self._timeless:
            return self.identity
        now = clock.now().astimezone()
        return (self.identity, now.weekday() * 1440 + now.hour * 60 + now.minute)

    def rules_for(self, action: str, when: datetime) -> ActionRules:
        minute = 0 if self._timeless else when.weekday() * 1440 + when.hour * 60 + when.minute
        key = (action, minute)
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) > 4096:
                self._cache.clear()
            found = self._cache[key] = self._compile(action, when)
        return found

    def rules_now(self, action: str) -> ActionRules:
        """``rules_for`` now, in the node's local time; a policy without environment rules
        never reads the clock (the common case: it costs more than the lookup)."""
        if self._timeless:
            found = self._cache.get((action, 0))
            if found is not None:
                return found
            return self.rules_for(action, _ANY_TIME)
        return self.rules_for(action, clock.now().astimezone())

    def _compile(self, action: str, when: datetime) -> ActionRules:
        allow, deny = _Side(), _Side()
        for statement in self.statements:
            if not statement.covers(action):
                continue
            if not all(r.holds_at(when) for r in statement.rules if r.field is not RuleField.ID):
                continue
            (allow if statement.effect is Effect.ALLOW else deny).add(statement)
        allow.seal()
        deny.seal()
        return ActionRules(allow, deny)

    def allows(self, action: str, path: ResourcePath, when: datetime) -> bool:
        return self.rules_for(action, when).allows(path)

    def allows_something(self, action: str, when: datetime) -> bool:
        return self.rules_for(action, when).allows_something

    def allows_everything(self, action: str, when: datetime) -> bool:
        return self.rules_for(action, when).allows_everything
