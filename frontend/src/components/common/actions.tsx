/**
 * A resource's actions, described once per area (`<area>/actions.tsx`) and shown both in
 * the tree's right-click menu and in the page header, with the seed's words as labels
 * (Power → Start / Stop / Force Stop / Restart, Edit, Destroy, Deploy).
 */
import {
  Divider,
  Dropdown,
  DropdownItem,
  DropdownList,
  MenuToggle,
} from "@patternfly/react-core";
import { EllipsisVIcon } from "@patternfly/react-icons";
import { type ReactNode, useState } from "react";

export interface ResourceAction {
  /** The visible and accessible name, in the seed's word. */
  label: string;
  /** A submenu (Power's Start, Stop, ...); `run` is ignored when present. */
  children?: ResourceAction[];
  run?: () => void;
  isDanger?: boolean;
  /** Why the action is unavailable now, shown as its description; undefined when it is. */
  disabledReason?: string;
}

/** The actions as a page header's "Actions" dropdown, submenus flattened under a divider. */
export function ActionsDropdown({ actions, label = "Actions" }: { actions: ResourceAction[]; label?: string }) {
  const [open, setOpen] = useState(false);
  const items: ReactNode[] = [];
  actions.forEach((action, index) => {
    if (action.children) {
      if (index > 0) items.push(<Divider key={`d-${action.label}`} component="li" />);
      for (const child of action.children) items.push(item(child, () => setOpen(false)));
      items.push(<Divider key={`e-${action.label}`} component="li" />);
    } else {
      items.push(item(action, () => setOpen(false)));
    }
  });
  return (
    <Dropdown
      isOpen={open}
      onOpenChange={setOpen}
      popperProps={{ position: "right" }}
      toggle={(ref) => (
        <MenuToggle ref={ref} onClick={() => setOpen(!open)} isExpanded={open}>
          {label}
        </MenuToggle>
      )}
    >
      <DropdownList>{items}</DropdownList>
    </Dropdown>
  );
}

/** The actions of a table row as a kebab menu; `label` names the toggle for a screen
 * reader, e.g. "Actions for alice". Flat: a row's actions have no submenus. */
export function KebabActions({ actions, label }: { actions: ResourceAction[]; label: string }) {
  const [open, setOpen] = useState(false);
  if (actions.length === 0) return null;
  return (
    <Dropdown
      isOpen={open}
      onOpenChange={setOpen}
      popperProps={{ position: "right" }}
      toggle={(ref) => (
        <MenuToggle
          ref={ref}
          variant="plain"
          aria-label={label}
          onClick={() => setOpen(!open)}
          isExpanded={open}
          icon={<EllipsisVIcon />}
        />
      )}
    >
      <DropdownList>{actions.map((action) => item(action, () => setOpen(false)))}</DropdownList>
    </Dropdown>
  );
}

function item(action: ResourceAction, close: () => void) {
  return (
    <DropdownItem
      key={action.label}
      isDanger={action.isDanger}
      isAriaDisabled={action.disabledReason !== undefined}
      description={action.disabledReason}
      onClick={() => {
        close();
        action.run?.();
      }}
    >
      {action.label}
    </DropdownItem>
  );
}
