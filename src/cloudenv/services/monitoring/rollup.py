"""Roll-ups and retention of a node's usage history, run by its own agent after each pass
(``store.record``).

A bucket of tier k (a minute, 5 minutes, ...) is rolled up from the rows of tier k-1 it
spans once it has closed, that is once a pass runs at or after its end: the bucket's row
holds each subject's sample count, sums and maxima (``layout.combine``). Tiers are rolled
bottom up, so a pass that finds several due rolls each from the rows just written below.

Buckets of several tiers close together (at midnight, all five): a tier's bucket is due
one pass (10 s) after the tier below's, so the day's closing is rolled up over five
consecutive passes, one tier each, and no pass carries more than one roll-up (a pass that
comes late rolls up whatever is due). Until then a range reads the bucket from the tiers
below (``queries._points``), so nothing is missing meanwhile.

Which buckets are pending is read from the store (the first and last bucket of each
tier), not kept in memory: after a crash or a stopped agent, the next pass rolls up every
closed bucket whose sources are still there, and writing a bucket twice (upsert) leaves
the same row. Rows of tier k-1 past its ``keep`` are deleted when tier k rolls; the top
tier's when it rolls itself. A node that no longer samples keeps what it had (bounded by
the same spans) until the node is removed (the rows cascade).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby

from sqlalchemy import Row
from sqlalchemy.orm import Session

from cloudenv.services.monitoring.layout import (
    INSTANCE_FIELDS,
    NODE_FIELDS,
    SAMPLE_SECONDS,
    TIERS,
    Block,
    Tier,
    combine,
)
from cloudenv.store.queries import metrics as q
from cloudenv.store.queries.scope import UNSCOPED


def roll_up(db: Session, node_id: str, now: int) -> int:
    """Roll up every closed bucket of ``node_id`` not rolled yet, then drop rows past
    their tier's span; returns the rows written."""
    spans = q.tier_spans(db, node_id, UNSCOPED)
    written = 0
    for tier in TIERS[1:]:
        below = TIERS[tier.level - 1]
        sources = spans.get(below.level)
        if sources is None:
            continue
        # Buckets starting before this have ended, and are due: a tier's a pass later
        # than the tier below's (see the module's docstring).
        closed = _floor(now - (tier.level - 1) * SAMPLE_SECONDS, tier.step)
        done = spans.get(tier.level)
        since = _floor(sources[0], tier.step)
        if done is not None:
            since = max(since, done[1] + tier.step)
        if since >= closed or sources[1] < since:
            continue
        starts = _roll(db, node_id, tier, below, since, closed)
        if not starts:
            continue
        written += len(starts)
        first = done[0] if done is not None else starts[0]
        spans[tier.level] = (first, starts[-1])
        _expire(db, node_id, below, sources[0], now)
        if tier is TIERS[-1]:
            _expire(db, node_id, tier, first, now)
    return written


def _expire(db: Session, node_id: str, tier: Tier, first: int, now: int) -> None:
    """Drop the tier's rows past its span (when its oldest is: a statement saved)."""
    if first < now - tier.keep:
        q.delete_before(db, node_id, tier.level, now - tier.keep)


def _roll(db: Session, node_id: str, tier: Tier, below: Tier, since: int, until: int) -> list[int]:
    """Write the buckets of ``tier`` in [since, until) from the rows of ``below``."""
    rows = q.whole_rows(db, node_id, below.level, since, until)
    written = []
    for start, group in groupby(rows, key=lambda r: _floor(int(r[0]), tier.step)):
        node, instances = _combined(list(group), raw=below.level == 0)
        q.put_row(
            db,
            node_id,
            tier.level,
            start,
            node.pack(raw=False),
            instances.joined(),
            instances.pack(raw=False),
        )
        written.append(start)
    return written


def _combined(rows: Sequence[Row[int, bytes, str, bytes]], *, raw: bool) -> tuple[Block, Block]:
    nodes = [Block.unpack("node", r[1], len(NODE_FIELDS), raw=raw) for r in rows]
    instances = [Block.unpack(r[2], r[3], len(INSTANCE_FIELDS), raw=raw) for r in rows]
    return combine(nodes, len(NODE_FIELDS)), combine(instances, len(INSTANCE_FIELDS))


def _floor(moment: int, step: int) -> int:
    return moment - moment % step
