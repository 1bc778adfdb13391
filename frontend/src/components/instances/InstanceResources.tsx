/**
 * The Resources tab: CPU and memory (Edit opens the instance's Edit dialog, where they can
 * be changed while it is stopped) and its devices, with Attach Device and per-row Delete
 * (detach), and per volume the seed's resize icon (Resize Volume: a delta in GiB, live
 * while the instance runs). When the server says a change reaches the running guest only
 * at its next restart, the tab says so until dismissed. A button no policy of the user
 * allows is left out.
 */
import {
  Alert,
  AlertActionCloseButton,
  Button,
  Card,
  CardBody,
  CardHeader,
  CardTitle,
  Flex,
  Gallery,
  HelperText,
  HelperTextItem,
  Stack,
  StackItem,
  Tooltip,
} from "@patternfly/react-core";
import { ExpandAltIcon } from "@patternfly/react-icons";
import { Table, Tbody, Td, Th, Thead, Tr } from "@patternfly/react-table";
import { type ReactNode, useState } from "react";

import {
  type Device,
  type Instance,
  useInstanceDevices,
  useNodePools,
  useNodeVolumes,
  useNodeVSwitches,
  type Volume,
} from "../../api/queries";
import { useDialogs } from "../common/DialogHost";
import { Details } from "../common/Details";
import { useAllowed } from "../common/permissions";
import { QueryState } from "../common/ResourcePage";
import { IconAction } from "../common/IconAction";
import { resizeRefusal } from "../storage/NodeVolumes";
import { ResizeVolumeDialog } from "../storage/ResizeVolumeDialog";
import { AttachDeviceDialog, DEVICE_TYPES } from "./AttachDeviceDialog";
import { DetachDeviceDialog } from "./DetachDeviceDialog";
import { EditInstanceDialog } from "./EditInstanceDialog";
import { formatMemory } from "./InstanceSummaryCard";
import { changeRefusal, isContainer, resourcesRefusal } from "./states";

const TYPE_TITLES: Record<number, string> = {
  1: "Network interface",
  2: "Storage Volume",
  3: "TPM",
  4: "USB",
  5: "PCI",
  6: "RNG",
  7: "CD-ROM",
};

interface Notice {
  key: number;
  text: string;
}

export function InstanceResources({ instance }: { instance: Instance }) {
  const dialogs = useDialogs();
  const allowed = useAllowed();
  const [notices, setNotices] = useState<Notice[]>([]);
  const notify = (text: string) => setNotices((all) => [...all, { key: Date.now(), text }]);
  const edit = () => dialogs.open((close) => <EditInstanceDialog instance={instance} onClose={close} />);
  const locked = resourcesRefusal(instance);
  // Both open the one Edit dialog; each names what it edits for a screen reader.
  const editButton = (what: string) =>
    allowed("instance.update") && (
      <Button variant="secondary" size="sm" onClick={edit} aria-label={`Edit ${what}`}>
        Edit
      </Button>
    );

  return (
    <Stack hasGutter>
      {notices.map((notice) => (
        <StackItem key={notice.key}>
          <Alert
            variant="warning"
            isInline
            title="Restart the instance to apply this change"
            actionClose={
              <AlertActionCloseButton
                onClose={() => setNotices((all) => all.filter((n) => n.key !== notice.key))}
              />
            }
          >
            {notice.text}
          </Alert>
        </StackItem>
      ))}
      <StackItem>
        <Gallery hasGutter minWidths={{ default: "100%", lg: "48%" }}>
          <Card>
            <CardHeader actions={{ actions: editButton("CPU") }}>
              <CardTitle>CPU</CardTitle>
            </CardHeader>
            <CardBody>
              <Stack hasGutter>
                <Details
                  items={[
                    ["vCPUs", instance.vcpus],
                    ["Sockets", instance.cpu.sockets],
                    ["Cores", instance.cpu.cores],
                    ["Threads", instance.cpu.threads],
                  ]}
                />
                {locked ? <Hint>{locked}</Hint> : null}
              </Stack>
            </CardBody>
          </Card>
          <Card>
            <CardHeader actions={{ actions: editButton("memory") }}>
              <CardTitle>Memory</CardTitle>
            </CardHeader>
            <CardBody>
              <Stack hasGutter>
                <Details items={[["Memory", formatMemory(instance.memory)]]} />
                {locked ? <Hint>{locked}</Hint> : null}
              </Stack>
            </CardBody>
          </Card>
        </Gallery>
      </StackItem>
      <StackItem>
        <InstanceDevicesCard
          instance={instance}
          onChange={(text) => notify(text)}
        />
      </StackItem>
    </Stack>
  );
}

/** A card's note under its details (why its values can't change now). */
function Hint({ children }: { children: ReactNode }) {
  return (
    <HelperText>
      <HelperTextItem>{children}</HelperTextItem>
    </HelperText>
  );
}

/** The devices list with Attach Device and, per row, Delete (detach). */
function InstanceDevicesCard({ instance, onChange }: { instance: Instance; onChange: (text: string) => void }) {
  const dialogs = useDialogs();
  const devices = useInstanceDevices(instance.id);
  const volumes = useNodeVolumes(instance.node_id);
  const pools = useNodePools(instance.node_id);
  const allowed = useAllowed();
  const refusal = changeRefusal(instance);
  const container = isContainer(instance);
  const volumeNames = new Map((volumes.data ?? []).map((v) => [v.id, `${v.name} (${v.size} GB)`]));
  const volumesById = new Map((volumes.data ?? []).map((v) => [v.id, v]));
  const poolTypes = new Map((pools.data ?? []).map((p) => [p.id, p.type]));
  const vswitches = useNodeVSwitches(
    instance.node_id,
    (devices.data ?? []).some((d) => d.type === DEVICE_TYPES.nic),
  );
  const switchNames = new Map((vswitches.data ?? []).map((v) => [v.id, v.name]));
  const volumeOf = (device: Device): Volume | undefined => {
    if (device.type !== DEVICE_TYPES.volume) return undefined;
    const id = dataOf(device).volume_id ?? device.resource_id;
    return id ? volumesById.get(id) : undefined;
  };

  const attach = () =>
    dialogs.open((close) => (
      <AttachDeviceDialog
        instance={instance}
        onClose={close}
        onAttached={(name, needsReboot) => {
          if (needsReboot) onChange(`The running guest sees device ${name} after a restart.`);
        }}
      />
    ));
  const resize = (volume: Volume) =>
    dialogs.open((close) => <ResizeVolumeDialog volume={volume} instance={instance} onClose={close} />);
  const detach = (device: Device) =>
    dialogs.open((close) => (
      <DetachDeviceDialog
        instance={instance}
        device={device}
        onClose={close}
        onDetached={(name, needsReboot) => {
          if (needsReboot) onChange(`The running guest loses device ${name} at its next restart.`);
        }}
      />
    ));

  const attachButton = (
    <Button variant="primary" size="sm" isAriaDisabled={refusal !== undefined} onClick={attach}>
      Attach Device
    </Button>
  );
  return (
    <Card>
      <CardHeader
        actions={{
          actions: !allowed("instance.device_attach") ? null : refusal ? (
            <Tooltip content={refusal}>{attachButton}</Tooltip>
          ) : (
            attachButton
          ),
        }}
      >
        <CardTitle>Devices</CardTitle>
      </CardHeader>
      <CardBody>
        {devices.data ? (
          <Table aria-label="Devices" variant="compact">
            <Thead>
              <Tr>
                <Th>Name</Th>
                <Th>Type</Th>
                <Th>Source</Th>
                {/* A container's devices have no bus: a volume is a mount point, a NIC a veth. */}
                {!container && <Th>Bus</Th>}
                <Th modifier="nowrap">{container ? "Mount Point" : "Device Path"}</Th>
                <Th>Status</Th>
                <Th screenReaderText="Actions" />
              </Tr>
            </Thead>
            <Tbody>
              {devices.data.map((device) => {
                const volume = volumeOf(device);
                return (
                  <DeviceRow
                    key={device.name}
                    device={device}
                    container={container}
                    source={source(device, volumeNames, switchNames)}
                    refusal={deleteRefusal(device, refusal)}
                    onDelete={allowed("instance.device_detach") ? () => detach(device) : undefined}
                    resize={
                      volume && allowed("volume.resize")
                        ? {
                            volume,
                            refusal:
                              refusal ?? resizeRefusal(volume, poolTypes.get(volume.storage_pool_id)),
                            run: () => resize(volume),
                          }
                        : undefined
                    }
                  />
                );
              })}
            </Tbody>
          </Table>
        ) : (
          <QueryState error={devices.error} isPending={devices.isPending} />
        )}
      </CardBody>
    </Card>
  );
}

interface DeviceData {
  bus?: string;
  dev?: string | null;
  /** A container's mount point: where the volume appears inside it. */
  path?: string | null;
  image?: string | null;
  volume_id?: string | null;
}

function dataOf(device: Device): DeviceData {
  const data = (device.metadata as { data?: DeviceData }).data;
  return data ?? {};
}

/** A NIC's settings, wherever the server keeps them (the row's metadata or its `data`). */
function nicOf(device: Device): { port_group?: string; model?: string; mac?: string } {
  const meta = device.metadata as Record<string, unknown>;
  const data = (meta.data ?? {}) as Record<string, unknown>;
  const pick = (...names: string[]): string | undefined => {
    for (const name of names) {
      const value = data[name] ?? meta[name] ?? (device as unknown as Record<string, unknown>)[name];
      if (typeof value === "string" && value) return value;
    }
    return undefined;
  };
  return {
    port_group: pick("port_group_name", "port_group"),
    model: pick("model"),
    mac: pick("mac", "mac_address"),
  };
}

function source(
  device: Device,
  volumeNames: Map<string, string>,
  switchNames: Map<string, string>,
): string {
  const data = dataOf(device);
  if (device.type === DEVICE_TYPES.nic) {
    const nic = nicOf(device);
    const vswitchId = device.resource_id ?? "";
    const where = `${switchNames.get(vswitchId) ?? (vswitchId || "?")} / ${nic.port_group ?? "?"}`;
    return nic.mac ? `${where}, ${nic.mac}` : where;
  }
  if (device.type === DEVICE_TYPES.cdrom) return data.image ?? device.resource_id ?? "—";
  const id = data.volume_id ?? device.resource_id;
  return id ? (volumeNames.get(id) ?? id) : "—";
}

function deleteRefusal(device: Device, instanceRefusal: string | undefined): string | undefined {
  if (device.is_root) return "The root volume of an instance can't be detached.";
  if (device.status === "detaching") return "It is being detached.";
  return instanceRefusal;
}

function DeviceRow(props: {
  device: Device;
  /** The instance is a container: no Bus column, the mount point for the path. */
  container: boolean;
  source: string;
  refusal: string | undefined;
  /** Absent when no policy of the user allows detaching. */
  onDelete: (() => void) | undefined;
  /** The resize icon of a volume; absent for other devices or without volume.resize. */
  resize?: { volume: Volume; refusal: string | undefined; run: () => void };
}) {
  const { device, refusal } = props;
  const data = dataOf(device);
  const button = (
    <Button variant="secondary" isDanger size="sm" isAriaDisabled={refusal !== undefined} onClick={props.onDelete}>
      Delete
    </Button>
  );
  return (
    <Tr>
      <Td dataLabel="Name">
        {device.name}
        {device.is_root ? " (root)" : ""}
      </Td>
      <Td dataLabel="Type">{TYPE_TITLES[device.type] ?? `Type ${device.type}`}</Td>
      <Td dataLabel="Source">{props.source}</Td>
      {!props.container && (
        <Td dataLabel="Bus">
          {device.type === DEVICE_TYPES.nic ? (nicOf(device).model ?? "—") : (data.bus ?? "—")}
        </Td>
      )}
      <Td dataLabel={props.container ? "Mount Point" : "Device Path"}>{data.path ?? data.dev ?? "—"}</Td>
      <Td dataLabel="Status">{device.status}</Td>
      <Td isActionCell>
        <Flex
          flexWrap={{ default: "nowrap" }}
          spaceItems={{ default: "spaceItemsSm" }}
          alignItems={{ default: "alignItemsCenter" }}
          justifyContent={{ default: "justifyContentFlexEnd" }}
        >
          {props.resize ? (
            <IconAction
              label={`Resize ${props.resize.volume.name}`}
              icon={<ExpandAltIcon />}
              refusal={props.resize.refusal}
              onClick={props.resize.run}
            />
          ) : null}
          {!props.onDelete ? null : refusal ? <Tooltip content={refusal}>{button}</Tooltip> : button}
        </Flex>
      </Td>
    </Tr>
  );
}
