/**
 * The Uplinks drop-down (seed: "From the Uplinks drop-down menu, select one or more network
 * interfaces to attach as uplinks"): a checkbox per NIC the vSwitch may take: the node's
 * unused NICs and those already its own. None makes an internal vSwitch; two or more
 * bond them (active-backup), so traffic survives the loss of a link.
 */
import {
  FormGroup,
  FormHelperText,
  HelperText,
  HelperTextItem,
  MenuToggle,
  Select,
  SelectList,
  SelectOption,
} from "@patternfly/react-core";
import { useId, useState } from "react";

import type { Nic } from "../../api/network";
import { errorIdOf, FieldError } from "../common/FieldError";
import { formatSpeed } from "./NodeNics";

interface Props {
  /** The node's NICs (all of them; the ones it can't take are left out here). */
  nics: Nic[] | undefined;
  /** The vSwitch's name, when editing: its own uplinks are offered too. */
  own?: string;
  value: string[];
  onChange: (uplinks: string[]) => void;
  error: unknown;
}

export function UplinksSelect({ nics, own, value, onChange, error }: Props) {
  const id = useId();
  const [open, setOpen] = useState(false);
  const choices = (nics ?? []).filter(
    (nic) => nic.unused || (own !== undefined && nic.vswitch === own) || value.includes(nic.name),
  );
  const toggle = (name: string) =>
    onChange(value.includes(name) ? value.filter((n) => n !== name) : [...value, name]);
  const summary =
    value.length === 0 ? "None (internal)" : [...value].sort().join(", ");
  const help =
    value.length > 1
      ? "Bonded (active-backup): traffic continues over the others if a link fails."
      : value.length === 1
        ? "One uplink to the physical network."
        : "No uplink: instances on it reach each other and this node only.";
  return (
    <FormGroup label="Uplinks" fieldId={id}>
      <Select
        role="menu"
        isOpen={open}
        selected={value}
        onSelect={(_e, selected) => {
          if (typeof selected === "string") toggle(selected);
        }}
        onOpenChange={setOpen}
        // Inside the dialog: a menu appended to <body> sits outside the modal, which hides
        // everything outside itself from assistive technology.
        popperProps={{ appendTo: "inline" }}
        toggle={(ref) => (
          <MenuToggle
            ref={ref}
            id={id}
            isFullWidth
            isExpanded={open}
            onClick={() => setOpen((o) => !o)}
            aria-label="Uplinks"
            aria-describedby={`${id}-help ${errorIdOf(id)}`}
          >
            {summary}
          </MenuToggle>
        )}
      >
        <SelectList aria-label="Uplinks">
          {choices.length === 0 ? (
            <SelectOption isDisabled value="">
              No unused NIC on this node
            </SelectOption>
          ) : (
            choices.map((nic) => (
              <SelectOption
                key={nic.name}
                value={nic.name}
                hasCheckbox
                isSelected={value.includes(nic.name)}
                description={`${nic.mac || "no MAC"} · ${nic.link ? "link up" : "link down"} · ${formatSpeed(nic.speed)}`}
              >
                {nic.name}
              </SelectOption>
            ))
          )}
        </SelectList>
      </Select>
      <FormHelperText>
        <HelperText>
          <HelperTextItem id={`${id}-help`}>{help}</HelperTextItem>
        </HelperText>
      </FormHelperText>
      {/* The API may name the list in the body's terms or the route's (PATCH's `uplinks`). */}
      <FieldError error={error} field="config.uplinks" controlId={id} />
      <FieldError error={error} field="uplinks" />
    </FormGroup>
  );
}
