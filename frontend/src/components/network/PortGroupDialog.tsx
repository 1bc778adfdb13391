/**
 * Create Port Group and the Edit icon's dialog (seed: "Creating a Port Group": select the
 * vSwitch, then VLAN ID, description..., and Confirm). The type decides the VLAN fields:
 * access (one VLAN ID, 1-4094, untagged to the instance), trunk (a VLAN list such as
 * "10, 20-22", and optionally the native VLAN sent untagged) or untagged (no VLAN). An edit
 * reaches the ports of running instances live; the vSwitch and name stay.
 */
import { FormGroup, FormSelect, FormSelectOption, TextInput } from "@patternfly/react-core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";

import {
  createPortGroup,
  formatVlanList,
  parseVlan,
  parseVlanList,
  PORT_GROUP_TYPES,
  type PortGroup,
  type PortGroupDataIn,
  type PortGroupTypeName,
  updatePortGroup,
  VLAN_MAX,
  VLAN_MIN,
} from "../../api/network";
import { keys, useNodeVSwitches } from "../../api/queries";
import { DescriptionField, EditDialog, FieldHelp, validation } from "../common/EditDialog";
import { errorIdOf, FieldError, validatedBy } from "../common/FieldError";

const DATA = "config.data";
const FIELDS = [
  "name",
  "description",
  "vswitch_id",
  "config.type",
  `${DATA}.vlan_id`,
  `${DATA}.trunk_vlans`,
  `${DATA}.native_vlan_id`,
];
const NAME_RULE = /^[A-Za-z0-9_.-]{1,64}$/;
const VLAN_RANGE = `A VLAN ID from ${VLAN_MIN} to ${VLAN_MAX}.`;

interface Props {
  nodeId: string;
  /** The port group to edit; absent to create one. */
  group?: PortGroup;
  onClose: () => void;
}

function typeNameOf(type: number | undefined): PortGroupTypeName {
  if (type === PORT_GROUP_TYPES.trunk) return "trunk";
  if (type === PORT_GROUP_TYPES.untagged) return "untagged";
  return "access";
}

export function PortGroupDialog({ nodeId, group, onClose }: Props) {
  const client = useQueryClient();
  const ids = { vswitch: useId(), name: useId(), type: useId(), vlan: useId(), trunk: useId(), native: useId() };
  const vswitches = useNodeVSwitches(nodeId);
  const data = group?.config.data;
  const [vswitchChoice, setVswitch] = useState(group?.vswitch_id ?? "");
  const [name, setName] = useState(group?.name ?? "");
  const [description, setDescription] = useState(group?.description ?? "");
  const [type, setType] = useState<PortGroupTypeName>(typeNameOf(group?.config.type));
  const [vlan, setVlan] = useState(data?.vlan_id ? String(data.vlan_id) : "");
  const [trunk, setTrunk] = useState(formatVlanList(data?.trunk_vlans ?? []));
  const [native, setNative] = useState(data?.native_vlan_id ? String(data.native_vlan_id) : "");
  const [checked, setChecked] = useState(false);
  // Until the user picks one, the only vSwitch there is.
  const choices = vswitches.data ?? [];
  const vswitchId = vswitchChoice || (choices.length === 1 ? (choices[0]?.id ?? "") : "");

  const hints: Partial<Record<string, string>> = {};
  if (!group && !NAME_RULE.test(name.trim())) {
    hints.name = "1 to 64 letters, digits, dots, hyphens or underscores.";
  }
  if (!vswitchId) hints.vswitch_id = "Choose a vSwitch.";
  if (type === "access" && parseVlan(vlan) === null) hints[`${DATA}.vlan_id`] = VLAN_RANGE;
  if (type === "trunk") {
    const list = parseVlanList(trunk);
    if (list === null) {
      hints[`${DATA}.trunk_vlans`] =
        `VLAN IDs (${VLAN_MIN}-${VLAN_MAX}) separated by commas; ranges like 20-22.`;
    }
    if (native.trim() !== "") {
      const n = parseVlan(native);
      if (n === null) hints[`${DATA}.native_vlan_id`] = VLAN_RANGE;
      else if (list && !list.includes(n)) {
        hints[`${DATA}.native_vlan_id`] = "The native VLAN must be one of the trunk's VLANs.";
      }
    }
  }
  const shown = (field: string) => (checked ? hints[field] : undefined);

  const body = () => {
    const payload: PortGroupDataIn =
      type === "access"
        ? { _type: type, vlan_id: parseVlan(vlan) }
        : type === "trunk"
          ? {
              _type: type,
              trunk_vlans: parseVlanList(trunk) ?? [],
              native_vlan_id: native.trim() ? parseVlan(native) : null,
            }
          : { _type: type };
    return {
      description: description.trim(),
      config: { type: PORT_GROUP_TYPES[type], data: payload },
    };
  };
  const save = useMutation({
    mutationFn: async () =>
      group
        ? updatePortGroup(group.vswitch_id, group.name, body())
        : createPortGroup(vswitchId, { ...body(), name: name.trim() }),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: keys.network });
      onClose();
    },
  });
  const error = save.error;

  return (
    <EditDialog
      title={group ? `Edit Port Group ${group.name}` : "Create Port Group"}
      fields={FIELDS}
      isPending={save.isPending}
      error={error}
      errorTitle={group ? "The port group was not changed" : "The port group was not created"}
      onSubmit={() => {
        setChecked(true);
        if (Object.keys(hints).length === 0) save.mutate();
      }}
      onClose={onClose}
      variant="medium"
    >
      <FormGroup label="vSwitch" isRequired fieldId={ids.vswitch}>
        <FormSelect
          id={ids.vswitch}
          value={vswitchId}
          onChange={(_e, v) => setVswitch(v)}
          isDisabled={group !== undefined}
          aria-describedby={errorIdOf(ids.vswitch)}
          validated={validation(error, "vswitch_id", shown("vswitch_id"))}
        >
          {vswitchId === "" ? <FormSelectOption value="" label="Choose a vSwitch" isPlaceholder /> : null}
          {choices.map((v) => (
            <FormSelectOption key={v.id} value={v.id} label={v.name} />
          ))}
        </FormSelect>
        <FieldHelp
          id={errorIdOf(ids.vswitch)}
          error={error}
          field="vswitch_id"
          warning={shown("vswitch_id")}
          hint={!vswitches.isPending && choices.length === 0 ? "This node has no vSwitch: create one first." : undefined}
        />
      </FormGroup>
      <FormGroup label="Name" isRequired={!group} fieldId={ids.name}>
        <TextInput
          id={ids.name}
          value={name}
          onChange={(_e, v) => setName(v)}
          isDisabled={group !== undefined}
          validated={validation(error, "name", shown("name"))}
          aria-describedby={`${ids.name}-help`}
          isRequired={!group}
          autoComplete="off"
        />
        <FieldHelp
          id={`${ids.name}-help`}
          error={error}
          field="name"
          hint={group ? "A port group's name can't be changed." : "For example Production, Backup or DMZ."}
          warning={shown("name")}
        />
      </FormGroup>
      <DescriptionField value={description} onChange={setDescription} error={error} />
      <FormGroup label="Type" fieldId={ids.type}>
        <FormSelect
          id={ids.type}
          value={type}
          onChange={(_e, v) => setType(v as PortGroupTypeName)}
          aria-describedby={errorIdOf(ids.type)}
          validated={validatedBy(error, "config.type")}
        >
          <FormSelectOption value="access" label="Access (one VLAN)" />
          <FormSelectOption value="trunk" label="Trunk (several VLANs, tagged)" />
          <FormSelectOption value="untagged" label="Untagged (no VLAN)" />
        </FormSelect>
        <FieldError error={error} field="config.type" controlId={ids.type} />
      </FormGroup>
      {type === "access" ? (
        <FormGroup label="VLAN ID" isRequired fieldId={ids.vlan}>
          <TextInput
            id={ids.vlan}
            type="number"
            min={VLAN_MIN}
            max={VLAN_MAX}
            value={vlan}
            onChange={(_e, v) => setVlan(v)}
            validated={validation(error, `${DATA}.vlan_id`, shown(`${DATA}.vlan_id`))}
            aria-describedby={`${ids.vlan}-help`}
            isRequired
          />
          <FieldHelp
            id={`${ids.vlan}-help`}
            error={error}
            field={`${DATA}.vlan_id`}
            hint={`${VLAN_RANGE} Instances on it send and receive untagged frames.`}
            warning={shown(`${DATA}.vlan_id`)}
          />
        </FormGroup>
      ) : null}
      {type === "trunk" ? (
        <>
          <FormGroup label="VLAN IDs" isRequired fieldId={ids.trunk}>
            <TextInput
              id={ids.trunk}
              value={trunk}
              placeholder="10, 20-22"
              onChange={(_e, v) => setTrunk(v)}
              validated={validation(error, `${DATA}.trunk_vlans`, shown(`${DATA}.trunk_vlans`))}
              aria-describedby={`${ids.trunk}-help`}
              isRequired
            />
            <FieldHelp
              id={`${ids.trunk}-help`}
              error={error}
              field={`${DATA}.trunk_vlans`}
              hint="The VLANs the port carries, tagged: IDs separated by commas, ranges like 20-22."
              warning={shown(`${DATA}.trunk_vlans`)}
            />
          </FormGroup>
          <FormGroup label="Native VLAN" fieldId={ids.native}>
            <TextInput
              id={ids.native}
              type="number"
              min={VLAN_MIN}
              max={VLAN_MAX}
              value={native}
              onChange={(_e, v) => setNative(v)}
              validated={validation(error, `${DATA}.native_vlan_id`, shown(`${DATA}.native_vlan_id`))}
              aria-describedby={`${ids.native}-help`}
            />
            <FieldHelp
              id={`${ids.native}-help`}
              error={error}
              field={`${DATA}.native_vlan_id`}
              hint="Optional: the VLAN whose frames go untagged."
              warning={shown(`${DATA}.native_vlan_id`)}
            />
          </FormGroup>
        </>
      ) : null}
    </EditDialog>
  );
}
