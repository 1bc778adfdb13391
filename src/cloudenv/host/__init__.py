"""Read-only facts about the local host: CPU, memory, disks, USB and PCI devices, OS identity.

Every probe reads ``/proc`` and ``/sys`` below a ``root`` directory (``/`` in production, a fake
tree in tests), never writes, and degrades to a default instead of raising when a file is
missing or unreadable. Nothing here imports the rest of cloudenv.
"""
