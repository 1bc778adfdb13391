"""Container images: root filesystems imported from hostile archives (rootfs tarballs and
OCI image layouts), checked entry by entry and stored as one normalised tarball, and
unpacked again into a container's root at deploy.

Every archive is treated as hostile: nothing is extracted while it is read (its entries are
checked into an in-memory tree; file contents go to an anonymous spool file), so a refused
archive leaves nothing behind. Modules: ``archive`` (limits, refusals, bounded decompression,
guarded tar headers), ``tree`` (the merged tree, whiteouts, the normalised tarball),
``oci`` (image layouts: index, manifest, config, digests), ``rootfs`` (the entry point that
builds a normalised tarball), ``unpack`` (into a directory, without following links)."""
