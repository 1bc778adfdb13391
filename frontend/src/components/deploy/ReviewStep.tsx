/**
 * The seed's "Review the configuration and click Finish": everything the deploy will ask
 * for, starting with what it deploys; a VM's firmware, machine and volumes, or a
 * container's image, init and privilege.
 */
import { List, ListItem } from "@patternfly/react-core";
import type { ReactNode } from "react";

import type { VSwitch } from "../../api/network";
import type { Image, NodePool } from "../../api/queries";
import { Details } from "../common/Details";
import { FIRMWARE_LABELS } from "./GeneralStep";
import { devicePaths, type DeployForm, kindTitle, whole } from "./form";

interface Props {
  form: DeployForm;
  nodeName: string;
  pools: NodePool[] | undefined;
  images: Image[] | undefined;
  vswitches: VSwitch[] | undefined;
}

type Item = [string, ReactNode];

function count(value: string, noun: string): string {
  return `${value.trim()} ${noun}${value.trim() === "1" ? "" : "s"}`;
}

function listOr(lines: string[], none: string): ReactNode {
  if (lines.length === 0) return none;
  return (
    <List isPlain>
      {lines.map((line, index) => (
        <ListItem key={index}>{line}</ListItem>
      ))}
    </List>
  );
}

function machineItems(form: DeployForm, pools: NodePool[] | undefined): Item[] {
  const poolName = (id: string) => pools?.find((p) => p.id === id)?.name ?? id;
  const paths = devicePaths(form.volumes);
  return [
    ["Firmware", FIRMWARE_LABELS[form.firmware] ?? form.firmware],
    ["Machine type", form.machineType],
    ["CPU model", form.cpuModel || "Hypervisor default"],
    [
      "Volumes",
      listOr(
        form.volumes.map((v, i) => `${paths[i]}: ${v.size} GB in ${poolName(v.poolId)}, ${v.bus}`),
        "None",
      ),
    ],
    ["Boot image", form.image || "None"],
  ];
}

function rootfsText(form: DeployForm, pool: string | undefined): string {
  const where = pool ? `From the image, in pool ${pool}` : "From the image";
  const size = form.rootSize.trim();
  return size ? `${where}, an ext4 volume of ${whole(size)} GB` : where;
}

function containerItems(
  form: DeployForm,
  pools: NodePool[] | undefined,
  images: Image[] | undefined,
): Item[] {
  const image = images?.find((i) => i.name === form.image);
  const poolId = form.rootPoolId || image?.storage_pool_id;
  const pool = pools?.find((p) => p.id === poolId)?.name;
  return [
    ["Image", form.image],
    ["Root filesystem", rootfsText(form, pool)],
    ["Init", form.init.trim()],
    [
      "Privileged",
      form.privileged ? "Yes: its root is the host's root" : "No (user-namespace mapped)",
    ],
  ];
}

export function ReviewStep({ form, nodeName, pools, images, vswitches }: Props) {
  const switchName = (id: string) => vswitches?.find((v) => v.id === id)?.name ?? id;
  const vcpus = whole(form.sockets) * whole(form.cores) * whole(form.threads);
  const container = form.kind === "lxc";
  const nic = (n: DeployForm["networks"][number]) =>
    `${switchName(n.vswitchId)} / ${n.portGroup}${container ? "" : `, ${n.model}`}, ` +
    `MAC ${n.mac.trim() || "generated"}`;
  return (
    <Details
      items={[
        ["Instance type", kindTitle(form.kind)],
        ["Node", nodeName],
        ["Name", form.name.trim()],
        ["Description", form.description || "—"],
        [
          "CPU",
          `${count(form.sockets, "socket")} × ${count(form.cores, "core")} × ` +
            `${count(form.threads, "thread")} (${count(String(vcpus), "vCPU")})`,
        ],
        ["Memory", `${form.memory} MB`],
        ...(container ? containerItems(form, pools, images) : machineItems(form, pools)),
        ["Autostart", form.autostart ? "Yes" : "No"],
        ["Networks", listOr(form.networks.map(nic), "None")],
      ]}
    />
  );
}
