"""Network drivers: Open vSwitch on the node (and an in-memory fake for tests)."""
