"""Console tickets for a node's shell: ``console_tokens`` names either an instance or a
node (``node_id``), never both, never neither.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

ONE_TARGET = "(instance_id IS NULL) <> (node_id IS NULL)"


def upgrade() -> None:
    with op.batch_alter_table("console_tokens", schema=None) as batch_op:
        batch_op.alter_column("instance_id", existing_type=sa.String(length=32), nullable=True)
        batch_op.add_column(sa.Column("node_id", sa.String(length=32), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_console_tokens_node_id_nodes"),
            "nodes",
            ["node_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_index(batch_op.f("ix_console_tokens_node_id"), ["node_id"], unique=False)
        batch_op.create_check_constraint(batch_op.f("ck_console_tokens_one_target"), ONE_TARGET)


def downgrade() -> None:
    # Node tickets live 30 seconds; dropping them loses nothing worth keeping.
    op.execute("DELETE FROM console_tokens WHERE node_id IS NOT NULL")
    with op.batch_alter_table("console_tokens", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_console_tokens_one_target"), type_="check")
        batch_op.drop_index(batch_op.f("ix_console_tokens_node_id"))
        batch_op.drop_constraint(batch_op.f("fk_console_tokens_node_id_nodes"), type_="foreignkey")
        batch_op.drop_column("node_id")
        batch_op.alter_column("instance_id", existing_type=sa.String(length=32), nullable=False)
