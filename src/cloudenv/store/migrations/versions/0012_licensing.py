"""Licensing: the issuers the deployment trusts (root organization's rows) and each node's
license key.

Revision ID: 0012
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cloudenv.store.base

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "license_issuers",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=16), nullable=False),
        sa.Column("creation", cloudenv.store.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_license_issuers_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_license_issuers")),
        sa.UniqueConstraint("public_key", name=op.f("uq_license_issuers_public_key")),
    )
    op.create_index(
        op.f("ix_license_issuers_fingerprint"), "license_issuers", ["fingerprint"], unique=False
    )
    op.create_index(
        op.f("ix_license_issuers_organization_id"),
        "license_issuers",
        ["organization_id"],
        unique=False,
    )
    op.create_table(
        "node_licenses",
        sa.Column("node_id", sa.String(length=32), nullable=False),
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("updated", cloudenv.store.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["node_id"],
            ["nodes.id"],
            name=op.f("fk_node_licenses_node_id_nodes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_node_licenses_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("node_id", name=op.f("pk_node_licenses")),
    )
    op.create_index(
        op.f("ix_node_licenses_organization_id"),
        "node_licenses",
        ["organization_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("node_licenses")
    op.drop_table("license_issuers")
