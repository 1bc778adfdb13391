/**
 * The storage pool types as the UI names them (the seed's table: "Directory (directory)",
 * ...), by the API's enum (0 directory, 1 iscsi, 2 lvm, 3 netfs, 4 rbd, 5 zfs), and the
 * words for the states a pool and a volume go through.
 */

export const POOL_TYPES = {
  directory: 0,
  iscsi: 1,
  lvm: 2,
  netfs: 3,
  rbd: 4,
  zfs: 5,
} as const;

export type PoolTypeNumber = (typeof POOL_TYPES)[keyof typeof POOL_TYPES];

/** The types in the order the Create Pool form offers them: local first, as the seed lists. */
export const POOL_TYPE_ORDER: PoolTypeNumber[] = [
  POOL_TYPES.directory,
  POOL_TYPES.netfs,
  POOL_TYPES.iscsi,
  POOL_TYPES.rbd,
  POOL_TYPES.zfs,
  POOL_TYPES.lvm,
];

const TITLES: Record<number, string> = {
  [POOL_TYPES.directory]: "Directory",
  [POOL_TYPES.iscsi]: "iSCSI",
  [POOL_TYPES.lvm]: "LVM",
  [POOL_TYPES.netfs]: "NetFS",
  [POOL_TYPES.rbd]: "Ceph RBD",
  [POOL_TYPES.zfs]: "ZFS",
};

/** "Directory", "Ceph RBD", ... */
export function poolTypeTitle(type: number): string {
  return TITLES[type] ?? `Type ${type}`;
}

/** Block pools hold raw data blocks; file pools hold image files (the seed's "Volume Backing"). */
export function isFileBacked(type: number): boolean {
  return type === POOL_TYPES.directory || type === POOL_TYPES.netfs;
}

/**
 * The node mounts these pools' volumes itself: files, and its own block devices (a logical
 * volume, a zvol). An RBD image or an iSCSI LUN is reached by QEMU alone, so a container
 * can't use one (its root filesystem, a mount point).
 */
export function isMountable(type: number): boolean {
  return isFileBacked(type) || type === POOL_TYPES.lvm || type === POOL_TYPES.zfs;
}

/**
 * An iSCSI pool's volumes are the target's LUNs: the target makes and sizes them, so they
 * can't be created or resized through the pool.
 */
export function makesVolumes(type: number): boolean {
  return type !== POOL_TYPES.iscsi;
}

/** Volume status (0 creating, 1 available, 2 attaching, 3 detaching, 4 destroying, 5 resizing, 6 error). */
export const VOLUME_STATUS = {
  creating: 0,
  available: 1,
  attaching: 2,
  detaching: 3,
  destroying: 4,
  resizing: 5,
  error: 6,
} as const;

const VOLUME_TITLES: Record<number, string> = {
  0: "Creating",
  1: "Available",
  2: "Attaching",
  3: "Detaching",
  4: "Destroying",
  5: "Resizing",
  6: "Error",
};

export function volumeStatusTitle(status: number): string {
  return VOLUME_TITLES[status] ?? `Status ${status}`;
}

/** A status a task is moving the volume through (a spinner shows beside it). */
export function isVolumeBusy(status: number): boolean {
  return [0, 2, 3, 4, 5].includes(status);
}
