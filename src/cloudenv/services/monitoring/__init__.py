"""Monitoring: what the nodes report about themselves and what is read back from it.

Usage (metrics): ``layout`` says what the history keeps and how it is packed; ``store``
records a sampling pass; ``rollup`` rolls closed buckets up and expires old ones;
``queries`` reads ranges and current usage; ``prometheus`` renders ``GET /metrics``.
Health, the daemon's log and its system jobs: ``health``, ``logs``, ``jobs``."""
