"""Usage history of nodes and their instances: a compact time series store
(``services/monitoring`` reads and writes it; the layout of the packed values is
``services/monitoring/layout.py``).

``metric_rows`` holds one row per node, tier and time bucket, and each row carries every
subject of that node at once: the node's own values, and all its instances' values packed
into one blob. So a sampling pass writes one row whatever the number of instances, and a
query of one node reads one small column of a few hundred rows. Tier 0 holds the raw
samples (one per pass); each coarser tier one row per bucket (a minute ... a day) with
each subject's sample count, sums and maxima, rolled up from the tier below when the
bucket closes. Every tier keeps a bounded span, so the table's size is bounded.

``metric_latest`` is the newest reading of each node (one row per node, replaced every
pass), with what the history doesn't keep: per-interface counters, uptime, per mount and
per pool storage; the instances' and cluster's current usage and ``/metrics`` read it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, LargeBinary, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cloudenv.store.base import Base


class MetricRow(Base):
    """One bucket of one tier of one node's history, holding all its subjects."""

    __tablename__ = "metric_rows"

    node_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("nodes.id", ondelete="CASCADE"), primary_key=True
    )
    tier: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    #: The bucket's start, Unix seconds, a multiple of the tier's step (UTC).
    start: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    #: The node's own values, packed (one subject).
    node: Mapped[bytes] = mapped_column(LargeBinary)
    #: The instance IDs in the order of ``instances``, comma-separated.
    subjects: Mapped[str] = mapped_column(Text, default="")
    #: Every instance's values, packed in the order of ``subjects``.
    instances: Mapped[bytes] = mapped_column(LargeBinary)


class MetricLatest(Base):
    """A node's newest reading (JSON, packed with orjson), replaced by every pass."""

    __tablename__ = "metric_latest"

    node_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("nodes.id", ondelete="CASCADE"), primary_key=True
    )
    time: Mapped[datetime]
    document: Mapped[bytes] = mapped_column(LargeBinary)
