/**
 * The deploy wizard's form: what the user fills in, the request body it becomes
 * (`POST /api/v2/instances`, InstanceDeploy), the cheap hints mirrored from the API's rules,
 * and which step holds a field the server names in its error. The server stays the judge:
 * hints only spare a round trip for what is obviously wrong.
 */
import type { NetworkInterfaceIn } from "../../api/network";
import type { Image, NodePool, Schemas } from "../../api/queries";
import { INSTANCE_TYPES, typeTitle } from "../instances/states";
import { isMountable } from "../storage/poolTypes";

export type DeployBody = Schemas["InstanceDeploy"];

/**
 * A container's metadata as sent. `privileged`, `storage_pool_id` and `rootfs_size` are
 * cloudenv's additions to the product's `{_type: "lxc", init}`.
 */
type LxcMetadataIn = Schemas["LxcMetadata"];

/** What is deployed: a virtual machine (QEMU) or a container (LXC), the API's `metadata._type`. */
export type InstanceKind = "qemu" | "lxc";

/** The kind as the user reads it, the same words as on the instance's page. */
export function kindTitle(kind: InstanceKind): string {
  return typeTitle(INSTANCE_TYPES[kind]);
}

/** What a container runs as its first process unless told otherwise (the API's default). */
export const DEFAULT_INIT = "/sbin/init";

export type StepId = "general" | "volumes" | "networking" | "review";

export interface VolumeForm {
  /** Stable across removals, so React keeps each row's inputs apart. */
  key: number;
  poolId: string;
  /** GB, as typed. */
  size: string;
  bus: string;
}

export interface NetworkForm {
  /** Stable across removals, as VolumeForm's. */
  key: number;
  vswitchId: string;
  portGroup: string;
  /** "" lets the server generate one (unique in the cluster). */
  mac: string;
  model: string;
}

export interface DeployForm {
  kind: InstanceKind;
  name: string;
  description: string;
  sockets: string;
  cores: string;
  threads: string;
  /** MB, as typed. */
  memory: string;
  firmware: string;
  machineType: string;
  /** "" lets the hypervisor choose (the API's null). */
  cpuModel: string;
  autostart: boolean;
  volumes: VolumeForm[];
  networks: NetworkForm[];
  /** The name of an image on the node: a VM's boot image ("" for none), a container's
   * root filesystem (required). */
  image: string;
  /** A container's first process, an absolute path inside it. */
  init: string;
  /** A container run without user-namespace mapping: its root is the node's root. */
  privileged: boolean;
  /** The pool a container's root filesystem is unpacked into; "" for its image's pool. */
  rootPoolId: string;
  /** GB as typed: the root filesystem as an ext4 volume of this size; "" for the server's
   * choice (a directory on a directory or netfs pool, else the image's size plus 1 GB). */
  rootSize: string;
}

/** Numbers start as the API's own defaults for a deploy (InstanceDeploy, CpuTopology). */
export function initialForm(): DeployForm {
  return {
    kind: "qemu",
    name: "",
    description: "",
    sockets: "1",
    cores: "1",
    threads: "1",
    memory: "2048",
    firmware: "efi",
    machineType: "pc",
    cpuModel: "",
    autostart: true,
    volumes: [],
    networks: [],
    image: "",
    init: DEFAULT_INIT,
    privileged: false,
    rootPoolId: "",
    rootSize: "",
  };
}

/** The node's pools a container's root filesystem can go into: those whose volumes the node
 * mounts itself, its files (directory, netfs) and its own block devices (LVM, ZFS). */
export function rootfsPools(pools: NodePool[] | undefined): NodePool[] {
  return (pools ?? []).filter((p) => isMountable(p.type));
}

/** The node's images a container can be deployed from: root filesystems (type 1), ready. */
export function containerImages(images: Image[] | undefined): Image[] {
  return (images ?? []).filter((i) => i.type === INSTANCE_TYPES.lxc && i.status === "available");
}

/**
 * The form switched to `kind`. The image list differs between the kinds, so the image is
 * carried over only if it fits the new kind: a container starts on the node's first
 * container image (usually the only one), a VM on none (booting nothing is allowed).
 */
export function withKind(form: DeployForm, kind: InstanceKind, images: Image[] | undefined): DeployForm {
  if (kind === form.kind) return form;
  const fitting = containerImages(images);
  const isContainerImage = fitting.some((i) => i.name === form.image);
  let image = form.image;
  if (kind === "lxc" && !isContainerImage) image = fitting[0]?.name ?? "";
  if (kind === "qemu" && isContainerImage) image = "";
  return { ...form, kind, image };
}

/** A MAC as `52:54:00:12:34:56` (the server also refuses one already in the cluster). */
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

export const DISK_BUSES = ["virtio", "sata", "scsi", "ide", "usb"] as const;

/** The API's limits that a hint can check without asking it (services/validation.py, machines.py). */
export const NAME_MIN = 3;
export const NAME_MAX = 255;
export const DESCRIPTION_MAX = 512;
export const MEMORY_MIN_MB = 64;
export const VOLUME_MIN_GB = 1;
export const VOLUME_MAX_GB = 65536;

/** A whole number as typed, or NaN. */
export function whole(value: string): number {
  return /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
}

/** Messages keyed by the API's field names, so hints and the server's errors share one place. */
export type Hints = Partial<Record<string, string>>;

export function hintsFor(form: DeployForm, images: Image[] | undefined): Hints {
  const hints: Hints = {};
  const name = form.name.trim();
  if (name.length < NAME_MIN || name.length > NAME_MAX) {
    hints.name = `Use ${NAME_MIN} to ${NAME_MAX} characters.`;
  }
  if (form.description.length > DESCRIPTION_MAX) {
    hints.description = `At most ${DESCRIPTION_MAX} characters.`;
  }
  for (const part of ["sockets", "cores", "threads"] as const) {
    const value = whole(form[part]);
    if (!(value >= 1)) hints[`cpu.${part}`] = "A whole number, at least 1.";
  }
  if (!(whole(form.memory) >= MEMORY_MIN_MB)) {
    hints.memory = `A whole number of MB, at least ${MEMORY_MIN_MB}.`;
  }
  if (form.kind === "lxc") {
    if (!form.image) hints.image = "Choose the image the container's root filesystem comes from.";
    if (!form.init.trim().startsWith("/")) {
      hints["metadata.init"] = `An absolute path inside the container, such as ${DEFAULT_INIT}.`;
    }
    const size = whole(form.rootSize);
    if (form.rootSize.trim() && !(size >= VOLUME_MIN_GB && size <= VOLUME_MAX_GB)) {
      hints["metadata.rootfs_size"] =
        `A whole number of GB, ${VOLUME_MIN_GB} to ${VOLUME_MAX_GB}, or empty.`;
    }
  } else {
    vmHints(form, images, hints);
  }
  networkHints(form, hints);
  return hints;
}

/** What only a virtual machine has: new volumes, and an image that needs one. */
function vmHints(form: DeployForm, images: Image[] | undefined, hints: Hints): void {
  form.volumes.forEach((volume, index) => {
    const field = `metadata.new_volumes[${index}]`;
    if (!volume.poolId) hints[`${field}.storage_pool_id`] = "Choose a storage pool.";
    const size = whole(volume.size);
    if (!(size >= VOLUME_MIN_GB && size <= VOLUME_MAX_GB)) {
      hints[`${field}.size`] = `A whole number of GB, ${VOLUME_MIN_GB} to ${VOLUME_MAX_GB}.`;
    }
    if (volume.bus === "ide" && isQ35(form.machineType)) {
      hints[`${field}.bus`] = "The q35 machine type has no IDE bus; use sata, scsi or virtio.";
    }
  });
  const image = images?.find((i) => i.name === form.image);
  if (image && image.format !== "iso" && form.volumes.length === 0) {
    hints.image = `${image.name} is a disk image: add a volume above to copy it into.`;
  }
}

function networkHints(form: DeployForm, hints: Hints): void {
  form.networks.forEach((network, index) => {
    const field = `networks[${index}]`;
    if (!network.vswitchId) hints[`${field}.vswitch_id`] = "Choose a vSwitch.";
    else if (!network.portGroup) hints[`${field}.port_group_name`] = "Choose a port group.";
    const mac = network.mac.trim();
    if (mac && !MAC.test(mac)) hints[`${field}.mac`] = "Six hex pairs separated by colons.";
    else if (mac && (parseInt(mac.slice(0, 2), 16) & 1) === 1) {
      hints[`${field}.mac`] = "A multicast MAC (odd first octet) can't be an interface's.";
    }
  });
}

export function isQ35(machineType: string): boolean {
  return machineType === "q35" || machineType.startsWith("pc-q35-");
}

/**
 * The step that holds an API field, for hints and for the server's `error.field`. A
 * container's image is chosen on General information (it has no Volumes step), a VM's on
 * Volumes, beside the volume it may be copied into.
 */
export function stepOf(field: string | null | undefined, kind: InstanceKind): StepId | null {
  if (!field) return null;
  if (field.startsWith("metadata.new_volumes") || field.startsWith("metadata.existing_volumes")) {
    return "volumes";
  }
  if (field === "image") return kind === "lxc" ? "general" : "volumes";
  if (field.startsWith("metadata.kernel_boot")) return "volumes";
  if (field.startsWith("networks")) return "networking";
  if (
    ["name", "description", "memory", "autostart", "architecture", "type", "metadata"].includes(
      field,
    ) ||
    field === "cpu" ||
    field.startsWith("cpu.") ||
    field.startsWith("metadata.") ||
    field.startsWith("destination")
  ) {
    return "general";
  }
  return null;
}

export function hasHintsIn(hints: Hints, step: StepId, kind: InstanceKind): boolean {
  return Object.keys(hints).some((field) => stepOf(field, kind) === step);
}

/** The InstanceDeploy body for the form's instance on `nodeId`, of `architecture`. */
export function bodyOf(form: DeployForm, nodeId: string, architecture: string): DeployBody {
  const container = form.kind === "lxc";
  // The generated type asks for every field that has a default; they are the API's defaults.
  return {
    destination: { node_id: nodeId },
    architecture,
    imds_enabled: false,
    name: form.name.trim(),
    description: form.description,
    type: INSTANCE_TYPES[form.kind],
    cpu: { sockets: whole(form.sockets), cores: whole(form.cores), threads: whole(form.threads) },
    memory: whole(form.memory),
    autostart: form.autostart,
    networks: form.networks.map((network) => {
      const nic: NetworkInterfaceIn = { vswitch_id: network.vswitchId, port_group_name: network.portGroup };
      // A container's interface is a veth pair: there is no emulated model to choose.
      if (!container) nic.model = network.model;
      if (network.mac.trim()) nic.mac = network.mac.trim().toLowerCase();
      return { ...nic }; // as a plain object: the API types networks as free-form objects
    }),
    image: form.image || null,
    metadata: container ? lxcMetadataOf(form) : qemuMetadataOf(form),
  };
}

function lxcMetadataOf(form: DeployForm): LxcMetadataIn {
  const metadata: LxcMetadataIn = {
    _type: "lxc",
    init: form.init.trim(),
    privileged: form.privileged,
  };
  // Sent only when chosen: the server's default is the image's own pool.
  if (form.rootPoolId) metadata.storage_pool_id = form.rootPoolId;
  if (form.rootSize.trim()) metadata.rootfs_size = whole(form.rootSize);
  return metadata;
}

function qemuMetadataOf(form: DeployForm): Schemas["QemuMetadata"] {
  const paths = devicePaths(form.volumes);
  return {
    _type: "qemu",
    firmware: form.firmware,
    machine_type: form.machineType,
    cpu_model: form.cpuModel || null,
    secure_boot: { enabled: false, enroll_standard_keys: false },
    existing_volumes: [],
    new_volumes: form.volumes.map((volume, index) => ({
      storage_pool_id: volume.poolId,
      size: whole(volume.size),
      bus: volume.bus,
      dev: paths[index] ?? "/dev/vda",
      driver: "qcow2",
      readonly: false,
      backup: false,
    })),
  };
}

/** The guest's name for each bus's disks (libvirt's convention): vd* on virtio, hd* on IDE, sd* else. */
function prefixOf(bus: string): string {
  if (bus === "virtio") return "vd";
  if (bus === "ide") return "hd";
  return "sd";
}

/** `/dev/vda`, `/dev/vdb`, `/dev/sda`...: each volume the next free name of its bus's kind, in
 * order, so the first volume (the one a disk image is copied into and booted) comes first. */
export function devicePaths(volumes: VolumeForm[]): string[] {
  const used = new Map<string, number>();
  return volumes.map((volume) => {
    const prefix = prefixOf(volume.bus);
    const count = used.get(prefix) ?? 0;
    used.set(prefix, count + 1);
    return `/dev/${prefix}${String.fromCharCode(97 + count)}`;
  });
}
