/**
 * Create vSwitch and the Edit icon's dialog (seed: "Creating a vSwitch", the Uplinks
 * drop-down and Confirm). Creating asks for the name, whose rule (svswitchX, X a positive
 * integer) is shown and checked here before the server is asked; the server also refuses a
 * name any node of the cluster already uses. A vSwitch's name can't change afterwards: Edit
 * changes its description, MTU and uplinks (the current ones checked).
 */
import { FormGroup, TextInput } from "@patternfly/react-core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";

import {
  createVSwitch,
  updateVSwitch,
  VSWITCH_NAME,
  VSWITCH_NAME_RULE,
  type VSwitch,
} from "../../api/network";
import { keys, useNodeNics } from "../../api/queries";
import { DescriptionField, EditDialog, FieldHelp, validation } from "../common/EditDialog";
import { UplinksSelect } from "./UplinksSelect";

const FIELDS = ["name", "description", "mtu", "config.uplinks", "uplinks"];
const MTU_MIN = 68;
const MTU_MAX = 65535;

interface Props {
  nodeId: string;
  /** The vSwitch to edit; absent to create one. */
  vswitch?: VSwitch;
  onClose: () => void;
}

/** The MTU as typed: null when empty (the uplinks keep theirs), a whole number, else NaN. */
function mtuOf(text: string): number | null {
  if (text.trim() === "") return null;
  return /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN;
}

export function VSwitchDialog({ nodeId, vswitch, onClose }: Props) {
  const client = useQueryClient();
  const ids = { name: useId(), mtu: useId() };
  const nics = useNodeNics(nodeId);
  const [name, setName] = useState(vswitch?.name ?? "");
  const [nameEdited, setNameEdited] = useState(false);
  const [description, setDescription] = useState(vswitch?.description ?? "");
  const [mtu, setMtu] = useState(vswitch?.mtu ? String(vswitch.mtu) : "");
  const [uplinks, setUplinks] = useState<string[]>(vswitch?.config.uplinks ?? []);

  const save = useMutation({
    mutationFn: async () => {
      const mtuValue = mtuOf(mtu);
      if (vswitch) {
        return updateVSwitch(vswitch.id, {
          description: description.trim(),
          mtu: mtuValue,
          config: { uplinks },
          force: false,
        });
      }
      return createVSwitch({
        node_id: nodeId,
        name: name.trim(),
        description: description.trim(),
        mtu: mtuValue,
        config: { uplinks },
        // The Uplinks drop-down offers only unused NICs, which carry no address of the node.
        force: false,
      });
    },
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: keys.network });
      onClose();
    },
  });
  const error = save.error;
  const nameWarning =
    !vswitch && nameEdited && !VSWITCH_NAME.test(name.trim())
      ? `The name must be ${VSWITCH_NAME_RULE}`
      : undefined;
  const mtuValue = mtuOf(mtu);
  const mtuWarning =
    mtuValue !== null && !(mtuValue >= MTU_MIN && mtuValue <= MTU_MAX)
      ? `A whole number from ${MTU_MIN} to ${MTU_MAX}, or empty to keep the uplinks' own.`
      : undefined;
  const blocked = (!vswitch && !VSWITCH_NAME.test(name.trim())) || mtuWarning !== undefined;

  return (
    <EditDialog
      title={vswitch ? `Edit vSwitch ${vswitch.name}` : "Create vSwitch"}
      fields={FIELDS}
      isPending={save.isPending}
      error={error}
      errorTitle={vswitch ? "The vSwitch was not changed" : "The vSwitch was not created"}
      submitLabel={vswitch ? "Confirm" : "Create"}
      onSubmit={() => {
        setNameEdited(true);
        if (!blocked) save.mutate();
      }}
      onClose={onClose}
      variant="medium"
    >
      <FormGroup label="Name" isRequired={!vswitch} fieldId={ids.name}>
        <TextInput
          id={ids.name}
          value={name}
          onChange={(_e, v) => {
            setName(v);
            setNameEdited(true);
          }}
          isDisabled={vswitch !== undefined}
          validated={validation(error, "name", nameWarning)}
          aria-describedby={`${ids.name}-help`}
          placeholder="svswitch1"
          isRequired={!vswitch}
          autoComplete="off"
        />
        <FieldHelp
          id={`${ids.name}-help`}
          error={error}
          field="name"
          hint={
            vswitch
              ? "A vSwitch's name can't be changed."
              : `${VSWITCH_NAME_RULE} Unique in the cluster.`
          }
          warning={nameWarning}
        />
      </FormGroup>
      <DescriptionField value={description} onChange={setDescription} error={error} />
      <FormGroup label="MTU" fieldId={ids.mtu}>
        <TextInput
          id={ids.mtu}
          type="number"
          min={MTU_MIN}
          max={MTU_MAX}
          value={mtu}
          onChange={(_e, v) => setMtu(v)}
          validated={validation(error, "mtu", mtuWarning)}
          aria-describedby={`${ids.mtu}-help`}
        />
        <FieldHelp
          id={`${ids.mtu}-help`}
          error={error}
          field="mtu"
          hint="Empty: the uplinks keep their own MTU."
          warning={mtuWarning}
        />
      </FormGroup>
      <UplinksSelect
        nics={nics.data}
        own={vswitch?.name}
        value={uplinks}
        onChange={setUplinks}
        error={error}
      />
    </EditDialog>
  );
}
