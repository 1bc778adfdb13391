/** The seed's "Review the configuration and click Finish": everything the deploy will ask for. */
import { List, ListItem } from "@patternfly/react-core";

import type { VSwitch } from "../../api/network";
import type { NodePool } from "../../api/queries";
import { Details } from "../common/Details";
import { FIRMWARE_LABELS } from "./GeneralStep";
import { devicePaths, type DeployForm, whole } from "./form";

interface Props {
  form: DeployForm;
  nodeName: string;
  pools: NodePool[] | undefined;
  vswitches: VSwitch[] | undefined;
}

function count(value: string, noun: string): string {
  return `${value.trim()} ${noun}${value.trim() === "1" ? "" : "s"}`;
}

export function ReviewStep({ form, nodeName, pools, vswitches }: Props) {
  const switchName = (id: string) => vswitches?.find((v) => v.id === id)?.name ?? id;
  const vcpus = whole(form.sockets) * whole(form.cores) * whole(form.threads);
  const poolName = (id: string) => pools?.find((p) => p.id === id)?.name ?? id;
  const paths = devicePaths(form.volumes);
  return (
    <Details
      items={[
        ["Node", nodeName],
        ["Name", form.name.trim()],
        ["Description", form.description || "—"],
        [
          "CPU",
          `${count(form.sockets, "socket")} × ${count(form.cores, "core")} × ` +
            `${count(form.threads, "thread")} (${count(String(vcpus), "vCPU")})`,
        ],
        ["Memory", `${form.memory} MB`],
        ["Firmware", FIRMWARE_LABELS[form.firmware] ?? form.firmware],
        ["Machine type", form.machineType],
        ["CPU model", form.cpuModel || "Hypervisor default"],
        ["Autostart", form.autostart ? "Yes" : "No"],
        [
          "Volumes",
          form.volumes.length === 0 ? (
            "None"
          ) : (
            <List isPlain>
              {form.volumes.map((v, i) => (
                <ListItem key={v.key}>
                  {`${paths[i]}: ${v.size} GB in ${poolName(v.poolId)}, ${v.bus}`}
                </ListItem>
              ))}
            </List>
          ),
        ],
        ["Boot image", form.image || "None"],
        [
          "Networks",
          form.networks.length === 0 ? (
            "None"
          ) : (
            <List isPlain>
              {form.networks.map((n) => (
                <ListItem key={n.key}>
                  {`${switchName(n.vswitchId)} / ${n.portGroup}, ${n.model}, MAC ${n.mac.trim() || "generated"}`}
                </ListItem>
              ))}
            </List>
          ),
        ],
      ]}
    />
  );
}
