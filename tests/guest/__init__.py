"""Builder and smoke checks of the tiny QEMU test guest (see README.md)."""
