"""The usage history store with a fake clock: raw samples rolled up into minutes ... days
(averages and maxima, counting a subject only where it was sampled), ranges that reach
the last pass through buckets not rolled up yet, a bounded size after a simulated year,
and a crash-free catch-up after the agent stopped for a while. On SQLite, and on
PostgreSQL where the test takes ``deployment`` (the ``integration`` run)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from cloudenv import clock
from cloudenv.services.access import SYSTEM
from cloudenv.services.monitoring import layout
from cloudenv.services.monitoring.layout import TIERS, Interval
from cloudenv.services.monitoring.queries import Series, node_history
from cloudenv.services.monitoring.store import InstanceReading, NodeReading, Reading, record
from cloudenv.store.engine import transaction
from cloudenv.store.queries import metrics as q
from tests.conftest import Deployment

pytestmark = pytest.mark.unit

#: Midnight UTC: every tier's buckets start here.
T0 = datetime(2027, 1, 1, tzinfo=UTC)


def node(cpu: float = 0.0, memory_used: float = 1e9) -> NodeReading:
    return NodeReading(
        cpu=cpu,
        load1=cpu / 100,
        load5=0.0,
        load15=0.0,
        memory_used=memory_used,
        memory_total=4e9,
        swap_used=0.0,
        swap_total=0.0,
        storage_used=1e10,
        storage_total=1e11,
        net_rx=0.0,
        net_tx=0.0,
        disk_read=0.0,
        disk_write=0.0,
    )


def instance(cpu: float) -> InstanceReading:
    return InstanceReading(
        cpu=cpu,
        memory_used=5e8,
        memory_total=1e9,
        net_rx=cpu * 10,
        net_tx=0.0,
        disk_read=0.0,
        disk_write=0.0,
    )


def record_all(dep: Deployment, passes: Iterable[tuple[datetime, Reading]]) -> int:
    written = 0
    with transaction(dep.factory) as db:
        for at, reading in passes:
            written += record(db, dep.setup.node_id, reading, at)
    return written


def every(step: timedelta, start: datetime, end: datetime) -> Iterator[datetime]:
    at = start
    while at < end:
        yield at
        at += step


def rows(dep: Deployment) -> dict[int, tuple[int, int]]:
    with transaction(dep.factory) as db:
        return q.count_rows(db, dep.setup.node_id)


def history(
    dep: Deployment, interval: Interval, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Series]:
    monkeypatch.setattr(clock, "now", lambda: now)
    with transaction(dep.factory) as db:
        return {s.name: s for s in node_history(db, SYSTEM, dep.setup.node_id, interval)}


def column(series: Series, name: str) -> list[float]:
    index = series.header.index(name)
    return [row[index] for row in series.data]


def instance_rows(dep: Deployment, tier: int) -> list[tuple[int, dict[str, layout.Agg]]]:
    """Each row of ``tier``: its start and every instance's values."""
    width = len(layout.INSTANCE_FIELDS)
    with transaction(dep.factory) as db:
        found = q.whole_rows(db, dep.setup.node_id, tier, 0, 2**62)
    unpacked = []
    for start, _node, subjects, blob in found:
        block = layout.Block.unpack(subjects, blob, width, raw=tier == 0)
        unpacked.append((start, {s: block.agg(i, width) for i, s in enumerate(block.subjects)}))
    return unpacked


def test_a_minute_rolls_up_averages_and_maxima(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Six passes of a minute: the node at 0..50 % CPU; inst-a in all six at 10 %, inst-b
    in the last three only, at 30, 60, 90 %. The next pass closes the minute."""
    passes = []
    for i, at in enumerate(every(timedelta(seconds=10), T0, T0 + timedelta(minutes=1))):
        instances = {"inst-a": instance(10.0)}
        if i >= 3:
            instances["inst-b"] = instance(30.0 * (i - 2))
        passes.append((at, Reading(node(cpu=10.0 * i), instances)))
    record_all(deployment, passes)
    assert 1 not in rows(deployment)  # the minute is still open
    record_all(deployment, [(T0 + timedelta(seconds=60), Reading(node(), {}))])
    assert rows(deployment)[1][0] == 1
    ((start, minute),) = instance_rows(deployment, 1)
    assert start == int(T0.timestamp())
    cpu = layout.INSTANCE_FIELDS.index("cpu")
    assert minute["inst-a"].count == 6 and minute["inst-a"].average(cpu) == pytest.approx(10.0)
    # inst-b counts only the passes it was in: (30 + 60 + 90) / 3, not / 6.
    assert minute["inst-b"].count == 3 and minute["inst-b"].average(cpu) == pytest.approx(60.0)
    assert minute["inst-b"].maxes[cpu] == pytest.approx(90.0)
    # The node's minute through the API's 4 h view (1-minute points): average and maximum.
    shown = history(deployment, Interval.FOUR_HOURS, T0 + timedelta(seconds=65), monkeypatch)
    cpu_series = shown["cpu"]
    assert cpu_series.step == 60 and cpu_series.header == ["time", "cpu", "cpu_max"]
    assert cpu_series.data[0] == [float(T0.timestamp()), 25.0, 50.0]


def test_a_range_reaches_the_last_pass_through_buckets_not_rolled_up(
    sqlite_deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A day of passes every 10 s up to 13:02:30: the 1-day view (5-minute points) shows
    the 5 minutes from 13:00, still open, made from one closed minute and raw samples."""
    dep = sqlite_deployment
    end = T0 + timedelta(hours=13, minutes=2, seconds=30)
    record_all(
        dep,
        (
            (at, Reading(node(cpu=50.0 if at >= T0 + timedelta(hours=13) else 10.0), {}))
            for at in every(timedelta(seconds=10), T0 + timedelta(hours=12), end)
        ),
    )
    shown = history(dep, Interval.ONE_DAY, end, monkeypatch)["cpu"]
    assert shown.step == 300
    times = [int(t) for t in column(shown, "time")]
    last = int((T0 + timedelta(hours=13)).timestamp())
    assert times == list(range(int((T0 + timedelta(hours=12)).timestamp()), last + 1, 300))
    assert column(shown, "cpu")[-1] == 50.0 and column(shown, "cpu")[-2] == 10.0
    # The open bucket's points come from tier 1 (13:00-13:01, 13:01-13:02) and raw rows.
    assert 2 not in rows(dep) or rows(dep)[2][0] == 12


def test_a_simulated_year_stays_bounded_and_keeps_daily_points(
    sqlite_deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """420 days of passes every 6 hours (the node at 0, 30, 60, 90 % CPU through each
    day; inst-a always, inst-b only mornings), then 3 hours every 10 s: each tier holds
    at most its span, the store stops growing once the daily tier is full, and the year's
    view shows each day's average and maximum."""
    dep = sqlite_deployment

    def day(at: datetime) -> Reading:
        hour = at.hour
        instances = {"inst-a": instance(10.0)}
        if hour < 12:
            instances["inst-b"] = instance(float(hour))
        return Reading(node(cpu=hour * 5.0), instances)  # 0, 30, 60, 90 %

    sizes = {}
    for stop in (410, 420):
        start = T0 + timedelta(days=0 if not sizes else 410)
        record_all(
            dep,
            ((at, day(at)) for at in every(timedelta(hours=6), start, T0 + timedelta(days=stop))),
        )
        sizes[stop] = sum(size for _, size in rows(dep).values())
    # A full daily tier: the 10 more days replaced 10 old ones, byte for byte.
    assert sizes[420] == sizes[410]

    tail_start = T0 + timedelta(days=420)
    tail_end = tail_start + timedelta(hours=3, minutes=10)
    record_all(dep, ((at, day(at)) for at in every(timedelta(seconds=10), tail_start, tail_end)))
    counted = rows(dep)
    for tier in TIERS:
        # A tier's old rows go when the tier above rolls up: a bucket of that tier late.
        above = TIERS[tier.level + 1].step // tier.step if tier is not TIERS[-1] else 1
        assert counted[tier.level][0] <= tier.keep // tier.step + above + 1, (tier, counted)
    assert counted[0][0] >= TIERS[0].keep // TIERS[0].step  # raw: hours of 10 s samples

    year = history(dep, Interval.ONE_YEAR, tail_end, monkeypatch)
    cpu = year["cpu"]
    assert cpu.step == 86400 and 365 <= len(cpu.data) <= 366
    full_days = cpu.data[:-1]  # the last is today, from the tiers below
    # Samples at 0, 6, 12 and 18 h: 0, 30, 60, 90 % -> 45 % on average, 90 % at most.
    assert {(row[1], row[2]) for row in full_days} == {(45.0, 90.0)}
    daily = instance_rows(dep, 5)
    index = layout.INSTANCE_FIELDS.index("cpu")
    assert {round(v["inst-b"].average(index), 3) for _, v in daily} == {3.0}  # 0 and 6 h
    assert {v["inst-b"].count for _, v in daily} == {2.0}
    assert {v["inst-a"].count for _, v in daily} == {4.0}


def test_passes_after_a_stop_roll_up_what_closed_meanwhile(
    sqlite_deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The agent stopped for 3 days at 10:00:30: its next pass rolls that day's buckets
    up (every tier), from the rows that were there, once."""
    dep = sqlite_deployment
    start = T0 + timedelta(hours=10)
    record_all(
        dep,
        (
            (at, Reading(node(cpu=40.0), {}))
            for at in every(timedelta(seconds=10), start, start + timedelta(seconds=40))
        ),
    )
    back = start + timedelta(days=3)
    written = record_all(dep, [(back, Reading(node(cpu=80.0), {}))])
    assert written == 2 + 5  # the pass's two rows, then one bucket of each tier above raw
    # Each tier's rows past its span went as the tier above rolled up: the old raw rows,
    # the minute and the 5 minutes (kept 6 h and 2 days); the new raw row stays.
    assert {t: n for t, (n, _) in rows(dep).items()} == {0: 1, 3: 1, 4: 1, 5: 1}
    again = record_all(dep, [(back + timedelta(seconds=10), Reading(node(cpu=80.0), {}))])
    assert again == 2  # nothing left to roll up
    week = history(dep, Interval.SEVEN_DAYS, back + timedelta(seconds=15), monkeypatch)["cpu"]
    assert [row[1] for row in week.data] == [40.0, 80.0]


def test_a_day_closing_is_rolled_up_one_tier_a_pass(
    sqlite_deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At midnight the minute, 5 minutes, half hour, 2 hours and day close together: the
    passes from 00:00:00 roll them up one each, 10 s apart, and the day's view has the
    day throughout (from the tiers below until its own row is written)."""
    dep = sqlite_deployment
    day_end = T0 + timedelta(days=1)
    record_all(  # the day, every 30 minutes, then every 10 s from 23:59
        dep,
        (
            (at, Reading(node(cpu=30.0), {"inst-a": instance(10.0)}))
            for at in every(timedelta(minutes=30), T0, day_end - timedelta(minutes=1))
        ),
    )
    written = []
    for at in every(
        timedelta(seconds=10), day_end - timedelta(minutes=1), day_end + timedelta(minutes=1)
    ):
        written.append(
            (at, record_all(dep, [(at, Reading(node(cpu=30.0), {"inst-a": instance(10.0)}))]))
        )
        year = history(dep, Interval.ONE_YEAR, at + timedelta(seconds=1), monkeypatch)["cpu"]
        assert [row[:2] for row in year.data][:1] == [[float(T0.timestamp()), 30.0]], at
    # (The first of them catches up on what the coarse passes left: it rolls several.)
    rolled = {at - day_end: n - 2 for at, n in written[1:] if n > 2}
    assert rolled == {timedelta(seconds=s): 1 for s in (0, 10, 20, 30, 40)}
    assert rows(dep)[5][0] == 1
