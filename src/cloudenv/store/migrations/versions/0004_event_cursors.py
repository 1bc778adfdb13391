"""Event cursors per organization: ``events.org_seq`` and the ``event_sequences`` counters.

Existing events are numbered 1, 2, 3 … per organization in the order of their global ID,
and each organization's counter starts after its last event.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_sequences",
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("last", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("organization_id", name=op.f("pk_event_sequences")),
    )
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("org_seq", sa.BigInteger(), nullable=True))
        batch.create_index(
            "ix_events_organization_id_org_seq", ["organization_id", "org_seq"], unique=False
        )
    op.execute(
        "UPDATE events SET org_seq = numbered.n FROM ("
        " SELECT id, ROW_NUMBER() OVER (PARTITION BY organization_id ORDER BY id) AS n"
        " FROM events WHERE organization_id IS NOT NULL"
        ") AS numbered WHERE events.id = numbered.id"
    )
    op.execute(
        "INSERT INTO event_sequences (organization_id, last)"
        " SELECT organization_id, MAX(org_seq) FROM events"
        " WHERE organization_id IS NOT NULL GROUP BY organization_id"
    )


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_index("ix_events_organization_id_org_seq")
        batch.drop_column("org_seq")
    op.drop_table("event_sequences")
