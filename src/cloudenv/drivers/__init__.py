"""Drivers: the narrow, typed interfaces to real components (libvirt for QEMU and LXC,
libvirt storage pools, Open vSwitch). They take and return frozen dataclasses, never ORM
rows or API schemas, and never touch the database: the agent calls them and records what
happened. Each kind has a production implementation and a ``fake`` for unit tests."""
