"""What the API reads about a node's own upkeep: its system jobs' last and next runs.

The agent that runs the jobs may live in another process (or on another node) than the
API answering ``GET /v1/nodes/{id}/jobs``, so the scheduler writes each job's state here
after it runs; one row per (node, job), rewritten in place.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from cloudenv.store.base import Base


class SystemJob(Base):
    __tablename__ = "system_jobs"

    node_id: Mapped[str] = mapped_column(
        ForeignKey("nodes.id", ondelete="CASCADE"), primary_key=True
    )
    #: The job's stable name (``heartbeat``, ``audit.purge``, ...).
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: What it does, in a few words a person reads.
    title: Mapped[str] = mapped_column(String(128))
    interval_seconds: Mapped[float]
    #: pending (not run since the agent started), running, ok or failed.
    status: Mapped[str] = mapped_column(String(16))
    last_run: Mapped[datetime | None]
    next_run: Mapped[datetime | None]
    #: How long the last run took, in seconds.
    last_duration: Mapped[float | None]
    #: Why the last run failed ("" when it did not).
    last_error: Mapped[str] = mapped_column(String(1024), default="")
    updated: Mapped[datetime]
