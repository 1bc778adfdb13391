"""An index for the recent-tasks list (``GET /api/v1/tasks``, the web UI's tasks drawer).

The list is the newest tasks first; without an index on ``creation`` every call sorts the
whole table, which only grows (every power action, deploy and snapshot leaves a row), and
the drawer asks again after each task event.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_tasks_creation", "tasks", ["creation"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_tasks_creation", table_name="tasks")
