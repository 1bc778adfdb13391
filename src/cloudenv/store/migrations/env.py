"""Alembic environment: the engine comes from the caller (store.migrate), never a URL here."""

from __future__ import annotations

from alembic import context

import cloudenv.store.tables  # noqa: F401  (registers every table on Base.metadata)
from cloudenv.store.base import Base

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
