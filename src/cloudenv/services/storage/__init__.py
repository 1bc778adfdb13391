"""Storage: pools (configured per cluster, enabled per node), volumes and images."""
