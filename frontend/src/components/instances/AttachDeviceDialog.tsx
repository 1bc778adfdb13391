/**
 * Attach Device (seed: "Attaching a Volume to an Instance"): Device Name, Device Type,
 * the Volume (only unattached ones of the instance's node) or, for a CD-ROM, an ISO image
 * of the node, Device Path and Bus Type, then Confirm. A network interface instead takes
 * a vSwitch of the node, one of its port groups, an optional MAC and the model, and is
 * plugged into the running guest live. Path and bus may be left to the
 * server (the first free path; virtio for a disk, the machine type's bus for a CD-ROM).
 * The server's message appears under the field it names; the reply says whether the
 * running guest sees the device only after a restart.
 *
 * A container takes a volume as a mount point (a path inside it) instead of a device path
 * and bus, a network interface without a model (a veth pair has none), and no CD-ROM.
 */
import {
  FormGroup,
  FormHelperText,
  FormSelect,
  FormSelectOption,
  HelperText,
  HelperTextItem,
  TextInput,
} from "@patternfly/react-core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";

import { api, unwrap } from "../../api/client";
import { NIC_MODELS, vlansOf } from "../../api/network";
import {
  type Instance,
  keys,
  useNodeImages,
  useNodePortGroups,
  useNodeVolumes,
  useNodeVSwitches,
} from "../../api/queries";
import { EditDialog } from "../common/EditDialog";
import { errorIdOf, FieldError, validatedBy } from "../common/FieldError";
import { isContainer } from "./states";

export const DEVICE_TYPES = { nic: 1, volume: 2, cdrom: 7 } as const;
const BUSES = ["virtio", "scsi", "sata", "ide", "usb"];
const DATA = "metadata.data";
const FIELDS = [
  "name",
  "type",
  `${DATA}.volume_id`,
  `${DATA}.image`,
  `${DATA}.dev`,
  `${DATA}.path`,
  `${DATA}.bus`,
  `${DATA}.vswitch_id`,
  `${DATA}.port_group_name`,
  `${DATA}.mac`,
  `${DATA}.model`,
];

/** The volume driver of a directory volume, which only a container can mount. */
const DIR_DRIVER = "dir";

/** Volume status 1 is "available" (0 creating, 2 attaching, ...). */
const VOLUME_AVAILABLE = 1;

interface Props {
  instance: Instance;
  onClose: () => void;
  /** Told what the server answered, so the tab can say when a restart is needed. */
  onAttached: (name: string, needsReboot: boolean) => void;
}

export function AttachDeviceDialog({ instance, onClose, onAttached }: Props) {
  const client = useQueryClient();
  const ids = {
    name: useId(),
    type: useId(),
    source: useId(),
    dev: useId(),
    bus: useId(),
    vswitch: useId(),
    group: useId(),
    mac: useId(),
    model: useId(),
  };
  const [name, setName] = useState("");
  const [type, setType] = useState<number>(DEVICE_TYPES.volume);
  const [volumeId, setVolumeId] = useState("");
  const [image, setImage] = useState("");
  const [dev, setDev] = useState("");
  const [mountPoint, setMountPoint] = useState("");
  const [bus, setBus] = useState("");
  const [vswitchChoice, setVswitch] = useState("");
  const [groupChoice, setGroup] = useState("");
  const [mac, setMac] = useState("");
  const [model, setModel] = useState<string>("virtio");
  const container = isContainer(instance);
  const isVolume = type === DEVICE_TYPES.volume;
  const isNic = type === DEVICE_TYPES.nic;
  const volumes = useNodeVolumes(instance.node_id, isVolume);
  const images = useNodeImages(instance.node_id, type === DEVICE_TYPES.cdrom);
  const vswitches = useNodeVSwitches(instance.node_id, isNic);
  const portGroups = useNodePortGroups(instance.node_id, isNic);
  // Until the user picks, the first vSwitch that has a port group, and that group.
  const withGroups = (vswitches.data ?? []).filter((v) =>
    (portGroups.data ?? []).some((g) => g.vswitch_id === v.id),
  );
  const vswitchId = vswitchChoice || (withGroups[0]?.id ?? "");
  const groups = (portGroups.data ?? []).filter((g) => g.vswitch_id === vswitchId);
  const groupName = groups.some((g) => g.name === groupChoice) ? groupChoice : (groups[0]?.name ?? "");
  // A container mounts directory volumes (driver dir); a VM attaches disk images, not those.
  const freeVolumes = (volumes.data ?? []).filter(
    (v) =>
      !v.attached && v.status === VOLUME_AVAILABLE && (v.metadata.driver === DIR_DRIVER) === container,
  );
  const isos = (images.data ?? []).filter((i) => i.format === "iso" && i.status === "available");

  const attach = useMutation({
    mutationFn: async () => {
      const data: Record<string, unknown> = isNic
        ? { vswitch_id: vswitchId, port_group_name: groupName }
        : isVolume
          ? { volume_id: volumeId }
          : { image };
      if (isNic && !container) data.model = model;
      if (isNic && mac.trim()) data.mac = mac.trim().toLowerCase();
      if (!isNic && container) data.path = mountPoint.trim();
      if (!isNic && !container && dev.trim()) data.dev = dev.trim();
      if (!isNic && !container && bus) data.bus = bus;
      return unwrap(
        await api.POST("/api/v1/instances/{instance_id}/devices", {
          params: { path: { instance_id: instance.id } },
          body: { name, type, description: "", live: true, metadata: { _type: type, data } },
        }),
      );
    },
    onSuccess: (reply) => {
      void client.invalidateQueries({ queryKey: keys.instance(instance.id) });
      void client.invalidateQueries({ queryKey: keys.volumes });
      void client.invalidateQueries({ queryKey: keys.network });
      onClose();
      onAttached(reply.name, reply.needs_reboot);
    },
  });
  const error = attach.error;
  const sourceField = isVolume ? `${DATA}.volume_id` : `${DATA}.image`;
  const sourceEmpty = isVolume ? freeVolumes.length === 0 : isos.length === 0;
  const sourceLoading = isVolume ? volumes.isPending : images.isPending;

  return (
    <EditDialog
      title={`Attach Device to ${instance.name}`}
      fields={FIELDS}
      isPending={attach.isPending}
      error={error}
      errorTitle="The device was not attached"
      onSubmit={() => attach.mutate()}
      onClose={onClose}
      variant="medium"
    >
      <FormGroup label="Device Name" isRequired fieldId={ids.name}>
        <TextInput
          id={ids.name}
          aria-describedby={errorIdOf(ids.name)}
          value={name}
          onChange={(_e, v) => setName(v)}
          validated={validatedBy(error, "name")}
          isRequired
        />
        <FormHelperText>
          <HelperText>
            <HelperTextItem>3–32 characters, no spaces.</HelperTextItem>
          </HelperText>
        </FormHelperText>
        <FieldError error={error} field="name" controlId={ids.name} />
      </FormGroup>
      <FormGroup label="Device Type" fieldId={ids.type}>
        <FormSelect
          id={ids.type}
          aria-describedby={errorIdOf(ids.type)}
          value={String(type)}
          onChange={(_e, v) => setType(Number(v))}
          validated={validatedBy(error, "type")}
        >
          <FormSelectOption value={String(DEVICE_TYPES.volume)} label="Storage Volume" />
          <FormSelectOption value={String(DEVICE_TYPES.nic)} label="Network interface" />
          {!container && <FormSelectOption value={String(DEVICE_TYPES.cdrom)} label="CD-ROM" />}
        </FormSelect>
        <FieldError error={error} field="type" controlId={ids.type} />
      </FormGroup>
      {isNic ? (
        <>
          <FormGroup label="vSwitch" isRequired fieldId={ids.vswitch}>
            <FormSelect
              id={ids.vswitch}
              aria-describedby={errorIdOf(ids.vswitch)}
              value={vswitchId}
              onChange={(_e, v) => setVswitch(v)}
              validated={validatedBy(error, `${DATA}.vswitch_id`)}
            >
              {vswitchId === "" ? <FormSelectOption value="" label="Choose a vSwitch" isPlaceholder /> : null}
              {(vswitches.data ?? []).map((v) => (
                <FormSelectOption key={v.id} value={v.id} label={v.name} />
              ))}
            </FormSelect>
            {!vswitches.isPending && !portGroups.isPending && withGroups.length === 0 ? (
              <FormHelperText>
                <HelperText>
                  <HelperTextItem variant="warning">
                    No vSwitch of this node has a port group; create them in the node&apos;s Network tab.
                  </HelperTextItem>
                </HelperText>
              </FormHelperText>
            ) : null}
            <FieldError error={error} field={`${DATA}.vswitch_id`} controlId={ids.vswitch} />
          </FormGroup>
          <FormGroup label="Port Group" isRequired fieldId={ids.group}>
            <FormSelect
              id={ids.group}
              aria-describedby={errorIdOf(ids.group)}
              value={groupName}
              onChange={(_e, v) => setGroup(v)}
              validated={validatedBy(error, `${DATA}.port_group_name`)}
            >
              {groupName === "" ? <FormSelectOption value="" label="Choose a port group" isPlaceholder /> : null}
              {groups.map((g) => (
                <FormSelectOption key={g.name} value={g.name} label={`${g.name} (VLAN ${vlansOf(g)})`} />
              ))}
            </FormSelect>
            <FieldError error={error} field={`${DATA}.port_group_name`} controlId={ids.group} />
          </FormGroup>
          <FormGroup label="MAC Address" fieldId={ids.mac}>
            <TextInput
              id={ids.mac}
              aria-describedby={errorIdOf(ids.mac)}
              value={mac}
              placeholder="Generated"
              onChange={(_e, v) => setMac(v)}
              validated={validatedBy(error, `${DATA}.mac`)}
              autoComplete="off"
            />
            <FieldError error={error} field={`${DATA}.mac`} controlId={ids.mac} />
          </FormGroup>
          {!container && (
            <FormGroup label="Model" fieldId={ids.model}>
              <FormSelect
                id={ids.model}
                aria-describedby={errorIdOf(ids.model)}
                value={model}
                onChange={(_e, v) => setModel(v)}
                validated={validatedBy(error, `${DATA}.model`)}
              >
                {NIC_MODELS.map((m) => (
                  <FormSelectOption key={m} value={m} label={m} />
                ))}
              </FormSelect>
              <FieldError error={error} field={`${DATA}.model`} controlId={ids.model} />
            </FormGroup>
          )}
        </>
      ) : (
        <>
          <FormGroup label={isVolume ? "Volume" : "Image"} isRequired fieldId={ids.source}>
            {isVolume ? (
              <FormSelect
                id={ids.source}
                aria-describedby={errorIdOf(ids.source)}
                value={volumeId}
                onChange={(_e, v) => setVolumeId(v)}
                validated={validatedBy(error, sourceField)}
              >
                <FormSelectOption value="" label="Choose a volume" isPlaceholder />
                {freeVolumes.map((v) => (
                  <FormSelectOption key={v.id} value={v.id} label={`${v.name} (${v.size} GB)`} />
                ))}
              </FormSelect>
            ) : (
              <FormSelect
                id={ids.source}
                aria-describedby={errorIdOf(ids.source)}
                value={image}
                onChange={(_e, v) => setImage(v)}
                validated={validatedBy(error, sourceField)}
              >
                <FormSelectOption value="" label="Choose an ISO image" isPlaceholder />
                {isos.map((i) => (
                  <FormSelectOption key={i.id} value={i.name} label={i.name} />
                ))}
              </FormSelect>
            )}
            {!sourceLoading && sourceEmpty ? (
              <FormHelperText>
                <HelperText>
                  <HelperTextItem variant="warning">
                    {!isVolume
                      ? "This node has no ISO image; upload one to the node first."
                      : container
                        ? "This node has no unattached directory volume; create one with driver dir in its Storage tab."
                        : "This node has no unattached volume; volumes are created when an instance is deployed."}
                  </HelperTextItem>
                </HelperText>
              </FormHelperText>
            ) : null}
            <FieldError error={error} field={sourceField} controlId={ids.source} />
          </FormGroup>
          {container ? (
            <FormGroup label="Mount point" isRequired fieldId={ids.dev}>
              <TextInput
                id={ids.dev}
                aria-describedby={errorIdOf(ids.dev)}
                value={mountPoint}
                placeholder="e.g. /srv/data"
                onChange={(_e, v) => setMountPoint(v)}
                validated={validatedBy(error, `${DATA}.path`)}
                isRequired
              />
              <FormHelperText>
                <HelperText>
                  <HelperTextItem>Where the volume appears inside the container, an absolute path.</HelperTextItem>
                </HelperText>
              </FormHelperText>
              <FieldError error={error} field={`${DATA}.path`} controlId={ids.dev} />
            </FormGroup>
          ) : (
            <>
              <FormGroup label="Device Path" fieldId={ids.dev}>
                <TextInput
                  id={ids.dev}
                  aria-describedby={errorIdOf(ids.dev)}
                  value={dev}
                  placeholder={isVolume ? "e.g. /dev/vdb" : "e.g. /dev/sdc"}
                  onChange={(_e, v) => setDev(v)}
                  validated={validatedBy(error, `${DATA}.dev`)}
                />
                <FormHelperText>
                  <HelperText>
                    <HelperTextItem>Empty: the first free path for the bus.</HelperTextItem>
                  </HelperText>
                </FormHelperText>
                <FieldError error={error} field={`${DATA}.dev`} controlId={ids.dev} />
              </FormGroup>
              <FormGroup label="Bus Type" fieldId={ids.bus}>
                <FormSelect
                  id={ids.bus}
                  aria-describedby={errorIdOf(ids.bus)}
                  value={bus}
                  onChange={(_e, v) => setBus(v)}
                  validated={validatedBy(error, `${DATA}.bus`)}
                >
                  <FormSelectOption
                    value=""
                    label={isVolume ? "Default (virtio)" : "Default (the machine type's CD-ROM bus)"}
                  />
                  {BUSES.map((b) => (
                    <FormSelectOption key={b} value={b} label={b} />
                  ))}
                </FormSelect>
                <FieldError error={error} field={`${DATA}.bus`} controlId={ids.bus} />
              </FormGroup>
            </>
          )}
        </>
      )}
    </EditDialog>
  );
}
