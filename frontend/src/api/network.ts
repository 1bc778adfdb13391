/**
 * The network API (issue 14) as the UI calls it: the node's NICs, its standalone vSwitches
 * and their port groups, with the rules the forms check before asking (the vSwitch name,
 * VLAN IDs and lists). The read hooks are in queries.ts; the calls are here, beside the
 * types, because the dialogs, the deploy wizard and the Resources tab share them.
 */
import { api, unwrap } from "./client";
import type { components } from "./schema";

type Schemas = components["schemas"];

/** vSwitch name rule (seed: "svswitch is the prefix and X is a positive integer"). */
export const VSWITCH_NAME = /^svswitch[1-9][0-9]*$/;
export const VSWITCH_NAME_RULE =
  "svswitchX, where X is a positive integer (for example svswitch10).";

/** Port group types on the wire (`config.type`). */
export const PORT_GROUP_TYPES = { access: 1, trunk: 2, untagged: 3 } as const;
export type PortGroupTypeName = keyof typeof PORT_GROUP_TYPES;
export const PORT_GROUP_TYPE_TITLES: Record<number, string> = {
  1: "Access",
  2: "Trunk",
  3: "Untagged",
};

export const VLAN_MIN = 1;
export const VLAN_MAX = 4094;

/** Device type 1: a network interface of an instance. */
export const NIC_DEVICE_TYPE = 1;
export const NIC_MODELS = ["virtio", "e1000"] as const;

export type Nic = Schemas["Nic"];
export type VSwitch = Schemas["VSwitch"];
export type PortGroup = Schemas["PortGroup"];
export type VSwitchCreate = Schemas["VSwitchCreate"];
export type VSwitchUpdate = Schemas["VSwitchUpdate"];
export type PortGroupCreate = Schemas["PortGroupCreate"];
export type PortGroupUpdate = Schemas["PortGroupUpdate"];
export type PortGroupDataIn = Schemas["PortGroupDataIn"];

/** One interface in a deploy's `networks` (the API declares them as free-form objects). */
export interface NetworkInterfaceIn {
  vswitch_id: string;
  port_group_name: string;
  mac?: string;
  model?: string;
}

const VSWITCHES = "/api/v1/networks/vswitches/standalone";

export async function listNics(nodeId: string): Promise<Nic[]> {
  const reply = unwrap(
    await api.GET("/api/v1/nodes/{node_id}/network/interfaces", {
      params: { path: { node_id: nodeId } },
    }),
  );
  return reply.networks;
}

export async function listVSwitches(nodeId: string): Promise<VSwitch[]> {
  return unwrap(await api.GET(VSWITCHES, { params: { query: { node_id: nodeId } } }));
}

export async function listPortGroups(nodeId: string): Promise<PortGroup[]> {
  return unwrap(
    await api.GET(`${VSWITCHES}/port_groups`, { params: { query: { node_id: nodeId } } }),
  );
}

export async function createVSwitch(body: VSwitchCreate) {
  return unwrap(await api.POST(VSWITCHES, { body }));
}

export async function updateVSwitch(id: string, body: VSwitchUpdate) {
  return unwrap(
    await api.PATCH(`${VSWITCHES}/{vswitch_id}`, { params: { path: { vswitch_id: id } }, body }),
  );
}

export async function deleteVSwitch(id: string, confirm: string) {
  return unwrap(
    await api.DELETE(`${VSWITCHES}/{vswitch_id}`, {
      params: { path: { vswitch_id: id }, query: { confirm } },
    }),
  );
}

export async function createPortGroup(vswitchId: string, body: PortGroupCreate) {
  return unwrap(
    await api.POST(`${VSWITCHES}/{vswitch_id}/port_groups`, {
      params: { path: { vswitch_id: vswitchId } },
      body,
    }),
  );
}

export async function updatePortGroup(vswitchId: string, name: string, body: PortGroupUpdate) {
  return unwrap(
    await api.PATCH(`${VSWITCHES}/{vswitch_id}/port_groups/{name}`, {
      params: { path: { vswitch_id: vswitchId, name } },
      body,
    }),
  );
}

export async function deletePortGroup(vswitchId: string, name: string, confirm: string) {
  return unwrap(
    await api.DELETE(`${VSWITCHES}/{vswitch_id}/port_groups/{name}`, {
      params: { path: { vswitch_id: vswitchId, name }, query: { confirm } },
    }),
  );
}

/** "10, 20-22" → [10, 20, 21, 22]; null when a part isn't a VLAN or range of VLANs. */
export function parseVlanList(text: string): number[] | null {
  const vlans = new Set<number>();
  const parts = text.split(",").map((p) => p.trim()).filter((p) => p !== "");
  if (parts.length === 0) return null;
  for (const part of parts) {
    const match = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(part);
    if (!match) return null;
    const low = Number(match[1]);
    const high = match[2] === undefined ? low : Number(match[2]);
    if (low < VLAN_MIN || high > VLAN_MAX || low > high) return null;
    for (let v = low; v <= high; v += 1) vlans.add(v);
  }
  return [...vlans].sort((a, b) => a - b);
}

/** [10, 20, 21, 22] → "10, 20-22". */
export function formatVlanList(vlans: number[]): string {
  const sorted = [...vlans].sort((a, b) => a - b);
  const parts: string[] = [];
  let start: number | undefined;
  let prev: number | undefined;
  for (const v of [...sorted, Number.NaN]) {
    if (start !== undefined && prev !== undefined && v === prev + 1) {
      prev = v;
      continue;
    }
    if (start !== undefined && prev !== undefined) {
      parts.push(start === prev ? String(start) : `${start}-${prev}`);
    }
    start = v;
    prev = v;
  }
  return parts.join(", ");
}

/** A VLAN as typed: a whole number 1-4094, else null. */
export function parseVlan(text: string): number | null {
  if (!/^\s*\d+\s*$/.test(text)) return null;
  const v = Number(text);
  return v >= VLAN_MIN && v <= VLAN_MAX ? v : null;
}

/** What a port group's VLAN column shows. */
export function vlansOf(group: PortGroup): string {
  const { type, data } = group.config;
  if (type === PORT_GROUP_TYPES.access) return data.vlan_id ? String(data.vlan_id) : "—";
  if (type === PORT_GROUP_TYPES.trunk) {
    const list = formatVlanList(data.trunk_vlans ?? []);
    return data.native_vlan_id ? `${list} (native ${data.native_vlan_id})` : list || "—";
  }
  return "None";
}
