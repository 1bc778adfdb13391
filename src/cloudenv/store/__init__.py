"""Persistence: SQLAlchemy engine and sessions, ORM tables by area, migrations, selectors.

The store knows tables and queries, never rules: services decide, the store keeps.
"""
