"""The resource tree: organizations > datacenters > clusters > nodes."""
