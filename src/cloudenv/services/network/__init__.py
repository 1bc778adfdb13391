"""Networking: a node's NICs, its vSwitches (Open vSwitch bridges) and their port groups."""
