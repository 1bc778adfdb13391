"""Storage drivers: pools and volumes on a node (libvirt storage pools)."""
