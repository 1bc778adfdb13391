"""Compute drivers: virtual machines (libvirt QEMU) and, later, containers (libvirt LXC)."""
