"""Health: what a node's heartbeat reports about its health (``nodes.health``), and its
system jobs' last and next runs (``system_jobs``), read by the API from any process.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cloudenv.store.base

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("nodes", sa.Column("health", sa.JSON(), nullable=True))
    op.create_table(
        "system_jobs",
        sa.Column("node_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=128), nullable=False),
        sa.Column("interval_seconds", sa.Double(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("last_run", cloudenv.store.base.UTCDateTime(), nullable=True),
        sa.Column("next_run", cloudenv.store.base.UTCDateTime(), nullable=True),
        sa.Column("last_duration", sa.Double(), nullable=True),
        sa.Column("last_error", sa.String(length=1024), nullable=False),
        sa.Column("updated", cloudenv.store.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["node_id"],
            ["nodes.id"],
            name=op.f("fk_system_jobs_node_id_nodes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("node_id", "name", name=op.f("pk_system_jobs")),
    )


def downgrade() -> None:
    op.drop_table("system_jobs")
    with op.batch_alter_table("nodes") as batch:
        batch.drop_column("health")
