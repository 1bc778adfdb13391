"""Identity and access: policies and their assignments, API tokens, MFA recovery codes,
lockouts, the organization's sign-in and quota settings, and an index for the
organization's audit list.

Every user that exists gets the built-in Administrator policy, so what each could do
before policies existed stays what it can do (the root user skips evaluation anyway).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cloudenv.store.base

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "policies",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=512), nullable=False),
        sa.Column("statements", sa.JSON(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("creation", cloudenv.store.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_policies_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policies")),
        sa.UniqueConstraint("organization_id", "name", name=op.f("uq_policies_organization_id")),
    )
    with op.batch_alter_table("policies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_policies_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expiry", cloudenv.store.base.UTCDateTime(), nullable=True),
        sa.Column("last_used", cloudenv.store.base.UTCDateTime(), nullable=True),
        sa.Column("creation", cloudenv.store.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
        sa.UniqueConstraint("user_id", "name", name=op.f("uq_api_tokens_user_id")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_user_id"), ["user_id"], unique=False)

    op.create_table(
        "mfa_recovery_codes",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("used", cloudenv.store.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_mfa_recovery_codes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_mfa_recovery_codes")),
    )
    with op.batch_alter_table("mfa_recovery_codes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mfa_recovery_codes_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "user_lockouts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("locked_at", cloudenv.store.base.UTCDateTime(), nullable=False),
        sa.Column("until", cloudenv.store.base.UTCDateTime(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("source_address", sa.String(length=64), nullable=True),
        sa.Column("cleared", cloudenv.store.base.UTCDateTime(), nullable=True),
        sa.Column("cleared_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_lockouts_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_lockouts")),
    )
    with op.batch_alter_table("user_lockouts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_user_lockouts_organization_id"), ["organization_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_user_lockouts_until"), ["until"], unique=False)
        batch_op.create_index(batch_op.f("ix_user_lockouts_user_id"), ["user_id"], unique=False)

    op.create_table(
        "user_policies",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("policy_id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_policies_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "policy_id", name=op.f("pk_user_policies")),
    )
    with op.batch_alter_table("user_policies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_policies_policy_id"), ["policy_id"], unique=False)

    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_log_organization_id_time", ["organization_id", "time"], unique=False
        )

    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("lockout_threshold", sa.Integer(), nullable=False, server_default="5")
        )
        batch_op.add_column(
            sa.Column("lockout_window_minutes", sa.Integer(), nullable=False, server_default="15")
        )
        batch_op.add_column(
            sa.Column("lockout_minutes", sa.Integer(), nullable=False, server_default="15")
        )
        batch_op.add_column(
            sa.Column("require_mfa", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("quota_vcpus", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("quota_memory_mb", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("quota_storage_gb", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("quota_instances", sa.Integer(), nullable=True))

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("temporary_password", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("external", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("mfa_secret", sa.String(length=64), nullable=True))

    # Built-in policy IDs are fixed (services/iam/builtin.py); Administrator's is this.
    op.execute(
        "INSERT INTO user_policies (user_id, policy_id, position)"
        " SELECT id, 'pol-builtin-administrator', 0 FROM users"
    )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("mfa_secret")
        batch_op.drop_column("external")
        batch_op.drop_column("temporary_password")

    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_column("quota_instances")
        batch_op.drop_column("quota_storage_gb")
        batch_op.drop_column("quota_memory_mb")
        batch_op.drop_column("quota_vcpus")
        batch_op.drop_column("require_mfa")
        batch_op.drop_column("lockout_minutes")
        batch_op.drop_column("lockout_window_minutes")
        batch_op.drop_column("lockout_threshold")

    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_organization_id_time")

    with op.batch_alter_table("user_policies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_policies_policy_id"))

    op.drop_table("user_policies")
    with op.batch_alter_table("user_lockouts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_lockouts_user_id"))
        batch_op.drop_index(batch_op.f("ix_user_lockouts_until"))
        batch_op.drop_index(batch_op.f("ix_user_lockouts_organization_id"))

    op.drop_table("user_lockouts")
    with op.batch_alter_table("mfa_recovery_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mfa_recovery_codes_user_id"))

    op.drop_table("mfa_recovery_codes")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_user_id"))

    op.drop_table("api_tokens")
    with op.batch_alter_table("policies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_policies_organization_id"))

    op.drop_table("policies")
