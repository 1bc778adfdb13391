"""Networking: vSwitches (Open vSwitch bridges, names unique in their cluster), their
port groups, the nodes' NICs as their agents read them, and a NIC's MAC on its instance
device row.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cloudenv.store.base

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "node_nics",
        sa.Column("node_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=15), nullable=False),
        sa.Column("mac", sa.String(length=17), nullable=False),
        sa.Column("mtu", sa.Integer(), nullable=False),
        sa.Column("speed", sa.Integer(), nullable=True),
        sa.Column("link", sa.Boolean(), nullable=False),
        sa.Column("driver", sa.String(length=64), nullable=False),
        sa.Column("vswitch", sa.String(length=15), nullable=True),
        sa.Column("addresses", sa.JSON(), nullable=False),
        sa.Column("updated", cloudenv.store.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["node_id"], ["nodes.id"], name=op.f("fk_node_nics_node_id_nodes"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("node_id", "name", name=op.f("pk_node_nics")),
    )
    op.create_table(
        "vswitches",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("cluster_id", sa.String(length=32), nullable=False),
        sa.Column("node_id", sa.String(length=32), nullable=False),
        sa.Column("type", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=15), nullable=False),
        sa.Column("description", sa.String(length=512), nullable=False),
        sa.Column("mtu", sa.Integer(), nullable=True),
        sa.Column("uplinks", sa.JSON(), nullable=False),
        sa.Column("security", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("message", sa.String(length=1024), nullable=False),
        sa.Column("creation", cloudenv.store.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cluster_id"], ["clusters.id"], name=op.f("fk_vswitches_cluster_id_clusters")
        ),
        sa.ForeignKeyConstraint(["node_id"], ["nodes.id"], name=op.f("fk_vswitches_node_id_nodes")),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_vswitches_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vswitches")),
        sa.UniqueConstraint("cluster_id", "name", name=op.f("uq_vswitches_cluster_id")),
    )
    op.create_index(op.f("ix_vswitches_cluster_id"), "vswitches", ["cluster_id"], unique=False)
    op.create_index(op.f("ix_vswitches_node_id"), "vswitches", ["node_id"], unique=False)
    op.create_index(
        op.f("ix_vswitches_organization_id"), "vswitches", ["organization_id"], unique=False
    )
    op.create_table(
        "port_groups",
        sa.Column("vswitch_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("description", sa.String(length=512), nullable=False),
        sa.Column("type", sa.Integer(), nullable=False),
        sa.Column("vlan_id", sa.Integer(), nullable=True),
        sa.Column("trunk_vlans", sa.JSON(), nullable=False),
        sa.Column("native_vlan_id", sa.Integer(), nullable=True),
        sa.Column("firewall_rules", sa.JSON(), nullable=False),
        sa.Column("creation", cloudenv.store.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_port_groups_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["vswitch_id"],
            ["vswitches.id"],
            name=op.f("fk_port_groups_vswitch_id_vswitches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("vswitch_id", "name", name=op.f("pk_port_groups")),
    )
    op.create_index(
        op.f("ix_port_groups_organization_id"), "port_groups", ["organization_id"], unique=False
    )
    op.add_column("instance_devices", sa.Column("mac", sa.String(length=17), nullable=True))
    op.create_index(op.f("ix_instance_devices_mac"), "instance_devices", ["mac"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("instance_devices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_instance_devices_mac"))
        batch_op.drop_column("mac")
    op.drop_table("port_groups")
    op.drop_table("vswitches")
    op.drop_table("node_nics")
