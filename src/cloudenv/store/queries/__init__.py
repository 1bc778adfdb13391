"""Selectors: the queries services use, each taking the caller's scope (the set of
organization IDs it may see, or None for all) so the tenant filter is never forgotten."""
