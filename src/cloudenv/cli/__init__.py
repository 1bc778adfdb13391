"""The ``cloudenv`` command: administers a node (init, serve, db) and drives the API like
any other client (login, org, datacenter, cluster, node, task)."""
