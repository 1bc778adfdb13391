"""Usage history: one row per node, tier and bucket holding all its subjects' values
(``metric_rows``), and each node's newest reading (``metric_latest``), which replaces the
one-row-per-instance ``instance_metrics`` (its samples are a few seconds old at most; the
agent writes the new table at its next pass).

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cloudenv.store.base

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "metric_rows",
        sa.Column("node_id", sa.String(length=32), nullable=False),
        sa.Column("tier", sa.SmallInteger(), nullable=False),
        sa.Column("start", sa.BigInteger(), nullable=False),
        sa.Column("node", sa.LargeBinary(), nullable=False),
        sa.Column("subjects", sa.Text(), nullable=False),
        sa.Column("instances", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["node_id"], ["nodes.id"], name=op.f("fk_metric_rows_node_id_nodes"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("node_id", "tier", "start", name=op.f("pk_metric_rows")),
    )
    op.create_table(
        "metric_latest",
        sa.Column("node_id", sa.String(length=32), nullable=False),
        sa.Column("time", cloudenv.store.base.UTCDateTime(), nullable=False),
        sa.Column("document", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["node_id"],
            ["nodes.id"],
            name=op.f("fk_metric_latest_node_id_nodes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("node_id", name=op.f("pk_metric_latest")),
    )
    op.drop_table("instance_metrics")


def downgrade() -> None:
    op.create_table(
        "instance_metrics",
        sa.Column("instance_id", sa.String(length=32), nullable=False),
        sa.Column("time", cloudenv.store.base.UTCDateTime(), nullable=False),
        sa.Column("cpu_percent", sa.Double(), nullable=False),
        sa.Column("memory_used_kib", sa.BigInteger(), nullable=True),
        sa.Column("memory_kib", sa.BigInteger(), nullable=False),
        sa.Column("network", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["instances.id"],
            name=op.f("fk_instance_metrics_instance_id_instances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("instance_id", name=op.f("pk_instance_metrics")),
    )
    op.drop_table("metric_latest")
    op.drop_table("metric_rows")
