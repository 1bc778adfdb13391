"""The policy engine (services/iam/policy.py): statements checked as written, with the
field at fault named; evaluation by action family, resource (the object itself, an ID
pattern, a subtree), environment and ID rules; deny wins; no match denies.

Times are fixed datetimes handed to the engine, never the clock."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from cloudenv.errors import InvalidInput
from cloudenv.services.access import Action
from cloudenv.services.iam.policy import (
    MAX_STATEMENTS,
    CompiledPolicy,
    Effect,
    Statement,
    parse_statements,
)

pytestmark = pytest.mark.unit

KNOWN = [a.value for a in Action]
#: A Monday, 10:30 (2026-01-05 is a Monday).
MONDAY_MORNING = datetime(2026, 1, 5, 10, 30)
SATURDAY_NIGHT = datetime(2026, 1, 10, 23, 15)

# org-a > dc-a > cls-a > node-a > inst-a (and a second instance inst-b on the same node).
INST_A = ("org-a", "dc-a", "cls-a", "node-a", "inst-a")
INST_B = ("org-a", "dc-a", "cls-a", "node-a", "inst-b")
NODE_A = ("org-a", "dc-a", "cls-a", "node-a")
CLS_A = ("org-a", "dc-a", "cls-a")
DC_A = ("org-a", "dc-a")
ORG_A = ("org-a",)
# Elsewhere in the organization.
INST_X = ("org-a", "dc-x", "cls-x", "node-x", "inst-x")


def stmt(action: str, effect: str = "allow", resource: str = "*", **extra: Any) -> dict[str, Any]:
    return {"action": action, "effect": effect, "resource": resource, **extra}


def policy(*statements: dict[str, Any]) -> CompiledPolicy:
    return CompiledPolicy(parse_statements(list(statements), KNOWN))


def refusal(raw: Any) -> InvalidInput:
    with pytest.raises(InvalidInput) as refused:
        parse_statements(raw, KNOWN)
    return refused.value


# Checking statements as written --------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "field", "words"),
    [
        ({"action": "*"}, "statements", "list"),
        ("allow everything", "statements", "list"),
        ([stmt("*"), 5], "statements[1]", "object"),
        ([stmt("*", colour="red")], "statements[0]", "'colour'"),
        ([stmt("instance power")], "statements[0].action", "action name"),
        ([stmt("instance.reboot")], "statements[0].action", "/api/v1/policies/actions"),
        ([stmt("*"), stmt("printer.*")], "statements[1].action", "'printer.*'"),
        ([stmt("*", effect="permit")], "statements[0].effect", "'allow' or 'deny'"),
        ([stmt("*", resource="dc-a/cls-a")], "statements[0].resource", "subtree"),
        ([stmt("*", resource="")], "statements[0].resource", "subtree"),
        ([stmt("*", rules={"field": "id"})], "statements[0].rules", "list"),
        ([stmt("*", rules=["id"])], "statements[0].rules[0]", "{field, operator, value}"),
        (
            [stmt("*", rules=[{"field": "env.moon", "operator": "equals", "value": "full"}])],
            "statements[0].rules[0].field",
            "env.day_of_week",
        ),
        (
            [stmt("*", rules=[{"field": "id", "operator": "like", "value": "x"}])],
            "statements[0].rules[0].operator",
            "one of",
        ),
        (
            [stmt("*", rules=[{"field": "env.day_of_week", "operator": "matches", "value": "m*"}])],
            "statements[0].rules[0].operator",
            "takes the operators",
        ),
        (
            [stmt("*", rules=[{"field": "env.day_of_week", "operator": "in", "value": "mon"}])],
            "statements[0].rules[0].value",
            "list",
        ),
        (
            [
                stmt(
                    "*",
                    rules=[{"field": "env.day_of_week", "operator": "equals", "value": "monday"}],
                )
            ],
            "statements[0].rules[0].value",
            "mon, tue",
        ),
        (
            [
                stmt(
                    "*", rules=[{"field": "env.time_of_day", "operator": "equals", "value": "9:00"}]
                )
            ],
            "statements[0].rules[0].value",
            "HH:MM",
        ),
        (
            [
                stmt(
                    "*",
                    rules=[{"field": "env.time_of_day", "operator": "between", "value": ["09:00"]}],
                )
            ],
            "statements[0].rules[0].value",
            "[start, end]",
        ),
        (
            [
                stmt(
                    "*",
                    rules=[
                        {
                            "field": "env.time_of_day",
                            "operator": "between",
                            "value": ["09:00", "09:00"],
                        }
                    ],
                )
            ],
            "statements[0].rules[0].value",
            "two different times",
        ),
    ],
)
def test_a_wrong_statement_is_refused_naming_its_field(raw: Any, field: str, words: str) -> None:
    refused = refusal(raw)
    assert refused.field == field
    assert words in refused.message


def test_statements_read_back_from_the_store_skip_the_vocabulary_check() -> None:
    """A stored policy may name an action a newer version dropped: it still loads (and
    grants nothing for it) instead of breaking its users' every request."""
    (parsed,) = parse_statements([stmt("printer.print")], None)
    assert parsed.action == "printer.print"


def test_a_statement_survives_its_round_trip_through_the_store() -> None:
    raw = [
        stmt("instance.*", "deny", "cls-a/*"),
        stmt(
            "instance.power",
            rules=[
                {"field": "env.day_of_week", "operator": "in", "value": ["mon", "tue"]},
                {"field": "id", "operator": "matches", "value": "inst-*"},
            ],
        ),
    ]
    parsed = parse_statements(raw, KNOWN)
    assert [s.as_dict() for s in parsed] == raw
    assert parse_statements([s.as_dict() for s in parsed], KNOWN) == parsed


def test_a_policy_holds_at_most_1024_statements() -> None:
    assert MAX_STATEMENTS == 1024
    assert len(parse_statements([stmt("instance.read")] * 1024, KNOWN)) == 1024
    refused = refusal([stmt("instance.read")] * 1025)
    assert refused.field == "statements"
    assert "at most 1024" in refused.message and "1025" in refused.message


def test_a_missing_resource_means_everything() -> None:
    (parsed,) = parse_statements([{"action": "instance.read", "effect": "allow"}], KNOWN)
    assert parsed.resource == "*"


# Actions -------------------------------------------------------------------------------


def test_an_action_family_covers_its_actions_only() -> None:
    p = policy(stmt("instance.*"))
    assert p.allows("instance.power", INST_A, MONDAY_MORNING)
    assert p.allows("instance.destroy", INST_A, MONDAY_MORNING)
    assert not p.allows("image.read", INST_A, MONDAY_MORNING)
    # A family is its area's name and a dot: "instance.*" is not "instances.*" or "image.*".
    assert not policy(stmt("image.*")).allows("instance.read", INST_A, MONDAY_MORNING)


def test_star_covers_every_action() -> None:
    p = policy(stmt("*"))
    assert all(p.allows(a.value, INST_A, MONDAY_MORNING) for a in Action)


def test_an_exact_action_covers_only_itself() -> None:
    p = policy(stmt("instance.power"))
    assert p.allows("instance.power", INST_A, MONDAY_MORNING)
    assert not p.allows("instance.power_off", INST_A, MONDAY_MORNING)
    assert not p.allows("instance.destroy", INST_A, MONDAY_MORNING)


# Resources -----------------------------------------------------------------------------


def test_an_id_names_the_object_itself_not_its_children() -> None:
    p = policy(stmt("*", resource="node-a"))
    assert p.allows("node.read", NODE_A, MONDAY_MORNING)
    assert not p.allows("instance.read", INST_A, MONDAY_MORNING)
    assert not p.allows("cluster.read", CLS_A, MONDAY_MORNING)


def test_an_id_pattern_names_the_objects_it_matches() -> None:
    p = policy(stmt("instance.read", resource="inst-?"))
    assert p.allows("instance.read", INST_A, MONDAY_MORNING)
    assert p.allows("instance.read", INST_B, MONDAY_MORNING)
    assert not p.allows("instance.read", (*NODE_A, "inst-ab"), MONDAY_MORNING)
    # Patterns match whole IDs: "inst-?" is not found inside "xinst-a".
    assert not p.allows("instance.read", (*NODE_A, "xinst-a"), MONDAY_MORNING)


def test_a_subtree_is_everything_beneath_the_object_not_the_object() -> None:
    p = policy(stmt("*", resource="cls-a/*"))
    assert p.allows("node.read", NODE_A, MONDAY_MORNING)
    assert p.allows("instance.power", INST_A, MONDAY_MORNING)
    assert not p.allows("cluster.read", CLS_A, MONDAY_MORNING)
    assert not p.allows("datacenter.read", DC_A, MONDAY_MORNING)
    assert not p.allows("instance.power", INST_X, MONDAY_MORNING)


def test_a_subtree_pattern_covers_every_matching_object_beneath() -> None:
    p = policy(stmt("instance.power", resource="cls-?/*"))
    assert p.allows("instance.power", INST_A, MONDAY_MORNING)
    assert p.allows("instance.power", INST_X, MONDAY_MORNING)
    assert not p.allows(
        "instance.power", ("org-a", "dc-a", "clsx-a", "node-a", "inst-a"), MONDAY_MORNING
    )


def test_the_organization_subtree_and_the_organization_itself_are_two_resources() -> None:
    beneath = policy(stmt("*", resource="org-a/*"))
    assert beneath.allows("instance.read", INST_A, MONDAY_MORNING)
    assert not beneath.allows("organization.read", ORG_A, MONDAY_MORNING)
    itself = policy(stmt("*", resource="org-a"))
    assert itself.allows("organization.read", ORG_A, MONDAY_MORNING)
    assert not itself.allows("instance.read", INST_A, MONDAY_MORNING)


def test_star_covers_every_path_even_the_empty_one() -> None:
    p = policy(stmt("organization.create"))
    assert p.allows("organization.create", (), MONDAY_MORNING)
    # Any narrower resource needs a target.
    assert not policy(stmt("organization.create", resource="org-*")).allows(
        "organization.create", (), MONDAY_MORNING
    )


# Allow, deny, nothing ------------------------------------------------------------------


@pytest.mark.parametrize("deny_first", [True, False])
def test_a_matching_deny_wins_whatever_the_order(deny_first: bool) -> None:
    allow, deny = stmt("instance.*"), stmt("instance.destroy", "deny", "cls-a/*")
    p = policy(*((deny, allow) if deny_first else (allow, deny)))
    assert not p.allows("instance.destroy", INST_A, MONDAY_MORNING)
    assert p.allows("instance.destroy", INST_X, MONDAY_MORNING)
    assert p.allows("instance.power", INST_A, MONDAY_MORNING)


def test_a_deny_of_a_family_beats_an_allow_of_one_action() -> None:
    p = policy(stmt("instance.power", resource="inst-a"), stmt("instance.*", "deny"))
    assert not p.allows("instance.power", INST_A, MONDAY_MORNING)


def test_no_matching_statement_denies() -> None:
    assert not policy().allows("instance.read", INST_A, MONDAY_MORNING)
    assert not policy(stmt("image.read")).allows("instance.read", INST_A, MONDAY_MORNING)
    assert not policy(stmt("instance.read", resource="inst-b")).allows(
        "instance.read", INST_A, MONDAY_MORNING
    )
    # A deny alone allows nothing either.
    assert not policy(stmt("instance.read", "deny", "inst-b")).allows(
        "instance.read", INST_A, MONDAY_MORNING
    )


def test_the_route_gate_and_the_fast_path() -> None:
    """``allows_something``: some target could be allowed (the route gate, before the
    target is known); ``allows_everything``: every target is (lists skip their checks)."""
    admin = policy(stmt("*"))
    assert admin.allows_everything("instance.read", MONDAY_MORNING)
    narrowed = policy(stmt("*"), stmt("instance.read", "deny", "inst-b"))
    assert narrowed.allows_something("instance.read", MONDAY_MORNING)
    assert not narrowed.allows_everything("instance.read", MONDAY_MORNING)
    assert narrowed.allows_everything("node.read", MONDAY_MORNING)
    subtree = policy(stmt("instance.read", resource="cls-a/*"))
    assert subtree.allows_something("instance.read", MONDAY_MORNING)
    assert not subtree.allows_everything("instance.read", MONDAY_MORNING)
    denied = policy(stmt("*"), stmt("instance.*", "deny"))
    assert not denied.allows_something("instance.read", MONDAY_MORNING)
    assert not policy().allows_something("instance.read", MONDAY_MORNING)
    # An allow with an ID rule is not an allow of everything.
    ruled = policy(stmt("*", rules=[{"field": "id", "operator": "matches", "value": "inst-*"}]))
    assert not ruled.allows_everything("instance.read", MONDAY_MORNING)
    assert ruled.allows_something("instance.read", MONDAY_MORNING)


# Rules ---------------------------------------------------------------------------------


def weekdays_office_hours(effect: str = "allow") -> dict[str, Any]:
    return stmt(
        "instance.power",
        effect,
        rules=[
            {
                "field": "env.day_of_week",
                "operator": "in",
                "value": ["mon", "tue", "wed", "thu", "fri"],
            },
            {"field": "env.time_of_day", "operator": "between", "value": ["09:00", "17:00"]},
        ],
    )


def test_day_and_time_rules_all_must_hold() -> None:
    p = policy(weekdays_office_hours())
    assert p.allows("instance.power", INST_A, MONDAY_MORNING)
    assert not p.allows("instance.power", INST_A, SATURDAY_NIGHT)  # neither holds
    assert not p.allows("instance.power", INST_A, datetime(2026, 1, 10, 10, 30))  # Saturday
    assert not p.allows("instance.power", INST_A, datetime(2026, 1, 5, 17, 0))  # end excluded
    assert p.allows("instance.power", INST_A, datetime(2026, 1, 5, 9, 0))  # start included


def test_a_time_window_may_wrap_past_midnight() -> None:
    night = stmt(
        "instance.power",
        rules=[{"field": "env.time_of_day", "operator": "between", "value": ["22:00", "06:00"]}],
    )
    p = policy(night)
    assert p.allows("instance.power", INST_A, SATURDAY_NIGHT)
    assert p.allows("instance.power", INST_A, datetime(2026, 1, 11, 5, 59))
    assert not p.allows("instance.power", INST_A, datetime(2026, 1, 11, 6, 0))
    assert not p.allows("instance.power", INST_A, MONDAY_MORNING)


def test_a_deny_with_rules_applies_only_while_they_hold() -> None:
    p = policy(stmt("instance.*"), weekdays_office_hours("deny"))
    assert not p.allows("instance.power", INST_A, MONDAY_MORNING)
    assert p.allows("instance.power", INST_A, SATURDAY_NIGHT)
    assert p.allows("instance.read", INST_A, MONDAY_MORNING)


def test_day_rules_with_equals_and_not_in() -> None:
    monday = stmt(
        "instance.read", rules=[{"field": "env.day_of_week", "operator": "equals", "value": "mon"}]
    )
    assert policy(monday).allows("instance.read", INST_A, MONDAY_MORNING)
    assert not policy(monday).allows("instance.read", INST_A, SATURDAY_NIGHT)
    not_weekend = stmt(
        "instance.read",
        rules=[{"field": "env.day_of_week", "operator": "not_in", "value": ["sat", "sun"]}],
    )
    assert policy(not_weekend).allows("instance.read", INST_A, MONDAY_MORNING)
    assert not policy(not_weekend).allows("instance.read", INST_A, SATURDAY_NIGHT)


def test_id_rules_narrow_a_statement_to_the_targets_they_hold_for() -> None:
    only_a = stmt(
        "instance.power",
        resource="cls-a/*",
        rules=[{"field": "id", "operator": "in", "value": ["inst-a"]}],
    )
    p = policy(only_a)
    assert p.allows("instance.power", INST_A, MONDAY_MORNING)
    assert not p.allows("instance.power", INST_B, MONDAY_MORNING)
    pattern = stmt("instance.power", rules=[{"field": "id", "operator": "matches", "value": "*-b"}])
    assert policy(pattern).allows("instance.power", INST_B, MONDAY_MORNING)
    assert not policy(pattern).allows("instance.power", INST_A, MONDAY_MORNING)
    # A ruled statement still needs its resource to match.
    elsewhere = stmt(
        "instance.power",
        resource="cls-x/*",
        rules=[{"field": "id", "operator": "equals", "value": "inst-a"}],
    )
    assert not policy(elsewhere).allows("instance.power", INST_A, MONDAY_MORNING)


def test_a_deny_with_an_id_rule_spares_the_other_targets() -> None:
    p = policy(
        stmt("instance.*"),
        stmt(
            "instance.destroy",
            "deny",
            rules=[{"field": "id", "operator": "not_equals", "value": "inst-b"}],
        ),
    )
    assert not p.allows("instance.destroy", INST_A, MONDAY_MORNING)
    assert p.allows("instance.destroy", INST_B, MONDAY_MORNING)


# Compiling ------------------------------------------------------------------------------


def test_rules_are_compiled_once_per_action_and_minute() -> None:
    p = policy(weekdays_office_hours(), stmt("instance.read"))
    first = p.rules_for("instance.power", MONDAY_MORNING)
    assert p.rules_for("instance.power", MONDAY_MORNING.replace(second=59)) is first
    later = p.rules_for("instance.power", MONDAY_MORNING.replace(minute=31))
    assert later is not first
    assert p.rules_for("instance.read", MONDAY_MORNING) is not first


def test_a_policy_without_environment_rules_compiles_once_per_action() -> None:
    p = policy(
        stmt("instance.*"),
        stmt(
            "instance.destroy",
            "deny",
            rules=[{"field": "id", "operator": "equals", "value": "inst-a"}],
        ),
    )
    first = p.rules_for("instance.destroy", MONDAY_MORNING)
    assert p.rules_for("instance.destroy", SATURDAY_NIGHT) is first


def test_a_large_policy_answers_as_it_reads() -> None:
    """1,024 statements, each naming one instance: the compiled sets answer for each of
    them and for none other, and the deny among them still wins."""
    statements = [stmt("instance.power", resource=f"inst-{i:04d}") for i in range(1023)]
    statements.append(stmt("instance.power", "deny", "inst-0007"))
    p = policy(*statements)
    node = NODE_A
    assert p.allows("instance.power", (*node, "inst-0000"), MONDAY_MORNING)
    assert p.allows("instance.power", (*node, "inst-1022"), MONDAY_MORNING)
    assert not p.allows("instance.power", (*node, "inst-0007"), MONDAY_MORNING)
    assert not p.allows("instance.power", (*node, "inst-1023"), MONDAY_MORNING)


def test_statements_keep_their_effect() -> None:
    (allow, deny) = parse_statements([stmt("*"), stmt("*", "deny", "inst-a")], KNOWN)
    assert allow == Statement("*", Effect.ALLOW, "*")
    assert deny.effect is Effect.DENY


def test_now_reads_the_clock_only_for_a_policy_with_environment_rules(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cloudenv import clock

    def no_clock() -> datetime:
        raise AssertionError("a policy without environment rules read the clock")

    monkeypatch.setattr(clock, "now", no_clock)
    assert policy(stmt("instance.*")).rules_now("instance.power").allows(INST_A)
    # With a day rule it asks the clock: a fixed Saturday night refuses office hours.
    saturday = SATURDAY_NIGHT.astimezone()
    monkeypatch.setattr(clock, "now", lambda: saturday)
    assert not policy(weekdays_office_hours()).rules_now("instance.power").allows(INST_A)
    monday = MONDAY_MORNING.astimezone()
    monkeypatch.setattr(clock, "now", lambda: monday)
    assert policy(weekdays_office_hours()).rules_now("instance.power").allows(INST_A)


def test_the_answers_key_names_the_statements_and_for_time_rules_the_minute(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cloudenv import clock

    parsed = parse_statements([weekdays_office_hours()], KNOWN)
    assert CompiledPolicy(parsed).answers_key() is None  # no identity: never shared
    timeless = CompiledPolicy(parse_statements([stmt("*")], KNOWN), identity=("pol-a", 1))
    assert timeless.answers_key() == ("pol-a", 1)
    dated = CompiledPolicy(parsed, identity=("pol-b", 3))
    monday = MONDAY_MORNING.astimezone()
    monkeypatch.setattr(clock, "now", lambda: monday)
    first = dated.answers_key()
    assert dated.answers_key() == first
    later = (MONDAY_MORNING.replace(minute=31)).astimezone()
    monkeypatch.setattr(clock, "now", lambda: later)
    assert dated.answers_key() != first
