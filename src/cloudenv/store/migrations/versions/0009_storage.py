"""Storage pools managed per cluster: per-type secrets, destruction marks, propagation
attempts, the job lease, and where each volume is.

Existing volumes were files in directory pools: their path is the pool's directory and
the file's name.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import json
import os

import sqlalchemy as sa
from alembic import op

import cloudenv.store.base

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("storage_pools", schema=None) as batch_op:
        batch_op.add_column(sa.Column("secrets", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.add_column(
            sa.Column("destroying", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("pool_nodes", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("attempted", cloudenv.store.base.UTCDateTime(), nullable=True)
        )
    with op.batch_alter_table("volumes", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("path", sa.String(length=1024), nullable=False, server_default="")
        )
    op.create_table(
        "job_leases",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("holder", sa.String(length=32), nullable=False),
        sa.Column("expires", cloudenv.store.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_leases")),
    )
    _fill_volume_paths()


def _fill_volume_paths() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT volumes.id, volumes.file_name, storage_pools.config FROM volumes "
            "JOIN storage_pools ON storage_pools.id = volumes.pool_id"
        )
    ).all()
    for volume_id, file_name, config in rows:
        if isinstance(config, str):  # SQLite hands JSON back as text
            config = json.loads(config)
        directory = str((config or {}).get("path", ""))
        if directory:
            bind.execute(
                sa.text("UPDATE volumes SET path = :path WHERE id = :id"),
                {"path": os.path.join(directory, file_name), "id": volume_id},
            )


def downgrade() -> None:
    op.drop_table("job_leases")
    with op.batch_alter_table("volumes", schema=None) as batch_op:
        batch_op.drop_column("path")
    with op.batch_alter_table("pool_nodes", schema=None) as batch_op:
        batch_op.drop_column("attempted")
    with op.batch_alter_table("storage_pools", schema=None) as batch_op:
        batch_op.drop_column("destroying")
        batch_op.drop_column("secrets")
