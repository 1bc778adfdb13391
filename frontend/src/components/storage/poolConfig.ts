/**
 * What each pool type is configured with: the Create Pool form's fields per type, and the
 * card's summary of a pool's `config`. Keys are those the API takes in `config` (and
 * names in an error's `field`, e.g. `config.path`); the write-only ones (a CIFS password,
 * a CHAP secret, a Ceph key) go in `config` on create and never come back.
 */
import type { DetailItem } from "../common/Details";
import { POOL_TYPES } from "./poolTypes";

export interface ConfigField {
  key: string;
  label: string;
  kind: "text" | "password" | "select" | "list";
  isRequired?: boolean;
  placeholder?: string | ((poolName: string) => string);
  help?: string;
  options?: { value: string; label: string }[];
  /** Shown only when this holds of the form's other values (e.g. CIFS-only fields). */
  when?: (config: Record<string, string>) => boolean;
  /** Its initial value. */
  initial?: string;
}

const isCifs = (config: Record<string, string>) => config.protocol === "cifs";

export const CONFIG_FIELDS: Record<number, ConfigField[]> = {
  [POOL_TYPES.directory]: [
    {
      key: "path",
      label: "Target Path",
      kind: "text",
      isRequired: true,
      placeholder: "/var/lib/cloudenv/pools/fast",
      help: "An absolute directory on each enabled node, not inside another directory or NetFS pool's path.",
    },
  ],
  [POOL_TYPES.netfs]: [
    {
      key: "protocol",
      label: "Protocol",
      kind: "select",
      isRequired: true,
      initial: "nfs",
      options: [
        { value: "nfs", label: "NFS" },
        { value: "cifs", label: "CIFS/SMB" },
      ],
    },
    { key: "server", label: "Server", kind: "text", isRequired: true, placeholder: "nas.example.com" },
    {
      key: "export",
      label: "Export",
      kind: "text",
      isRequired: true,
      placeholder: "/exports/vms",
      help: "The exported directory (NFS) or the share's name (CIFS).",
    },
    {
      key: "path",
      label: "Target Path",
      kind: "text",
      isRequired: true,
      placeholder: "/mnt/cloudenv/nas",
      help: "Where each enabled node mounts it: absolute, not inside another directory or NetFS pool's path.",
    },
    { key: "username", label: "Username", kind: "text", when: isCifs },
    { key: "password", label: "Password", kind: "password", when: isCifs },
  ],
  [POOL_TYPES.iscsi]: [
    {
      key: "portal",
      label: "Portal",
      kind: "text",
      isRequired: true,
      placeholder: "192.0.2.10:3260",
      help: "The target's host, with :port when it isn't 3260.",
    },
    {
      key: "target",
      label: "Target IQN",
      kind: "text",
      isRequired: true,
      placeholder: "iqn.2026-01.com.example:storage",
    },
    {
      key: "initiator",
      label: "Initiator IQN",
      kind: "text",
      help: "Optional; by default each node uses its own.",
    },
    { key: "chap_username", label: "CHAP Username", kind: "text", help: "Optional." },
    { key: "chap_secret", label: "CHAP Secret", kind: "password" },
  ],
  [POOL_TYPES.lvm]: [
    {
      key: "volume_group",
      label: "Volume Group",
      kind: "text",
      placeholder: (name) => name || "the pool's name",
      help: "An LVM volume group of this name must exist on each enabled node; empty: the pool's name.",
    },
  ],
  [POOL_TYPES.rbd]: [
    {
      key: "monitors",
      label: "Monitors",
      kind: "list",
      isRequired: true,
      placeholder: "192.0.2.21:6789, 192.0.2.22:6789",
      help: "The Ceph monitors, host[:port], separated by commas.",
    },
    { key: "pool", label: "Ceph Pool", kind: "text", isRequired: true, placeholder: "rbd" },
    { key: "user", label: "User", kind: "text", placeholder: "admin", help: "Empty: admin." },
    {
      key: "key",
      label: "Key",
      kind: "password",
      help: "The Ceph user's key, as `ceph auth get-key` prints it; empty when the cluster needs none.",
    },
  ],
  [POOL_TYPES.zfs]: [
    {
      key: "pool",
      label: "ZFS Pool",
      kind: "text",
      placeholder: (name) => name || "the pool's name",
      help: "A ZFS pool of this name must exist on each enabled node; empty: the pool's name.",
    },
  ],
};

/** The fields of `type` the form shows now, given the values chosen so far. */
export function shownFields(type: number, values: Record<string, string>): ConfigField[] {
  return (CONFIG_FIELDS[type] ?? []).filter((f) => f.when?.(values) ?? true);
}

/** The form's starting values for `type`. */
export function initialValues(type: number): Record<string, string> {
  const values: Record<string, string> = {};
  for (const field of CONFIG_FIELDS[type] ?? []) values[field.key] = field.initial ?? "";
  return values;
}

/** The request's `config`: the shown fields that were filled, lists split into items. */
export function requestConfig(type: number, values: Record<string, string>): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  for (const field of shownFields(type, values)) {
    const raw = values[field.key] ?? "";
    // A secret is sent as typed: spaces may be part of it.
    const value = field.kind === "password" ? raw : raw.trim();
    if (value === "") continue;
    config[field.key] =
      field.kind === "list"
        ? value
            .split(",")
            .map((item) => item.trim())
            .filter((item) => item !== "")
        : value;
  }
  return config;
}

/** The card's lines for a pool's `config` (its readable settings, in the form's words). */
export function configSummary(type: number, config: Record<string, unknown>): DetailItem[] {
  const items: DetailItem[] = [];
  for (const field of CONFIG_FIELDS[type] ?? []) {
    if (field.kind === "password") continue;
    const value = config[field.key];
    if (value === undefined || value === null || value === "") continue;
    const text = Array.isArray(value) ? value.map(String).join(", ") : String(value);
    const option = field.options?.find((o) => o.value === text);
    items.push([field.label, option?.label ?? text]);
  }
  return items;
}
