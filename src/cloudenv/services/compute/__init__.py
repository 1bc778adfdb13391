"""Compute: instances (virtual machines; containers later), their power, devices,
consoles and snapshots. Services record desired state and queue tasks; the owning
node's agent makes it real."""
