/**
 * A resource's actions as header buttons, each under its own name: an action with children
 * becomes a dropdown titled with its label (Power → Start / Stop / ...), the others plain
 * buttons (Edit, Destroy). The same `ResourceAction[]` the tree's context menu shows; an
 * unavailable action stays visible, disabled, with its reason.
 */
import {
  Button,
  Dropdown,
  DropdownItem,
  DropdownList,
  Flex,
  FlexItem,
  MenuToggle,
  Tooltip,
} from "@patternfly/react-core";
import { useState } from "react";

import type { ResourceAction } from "./actions";

export function ActionButtons({ actions }: { actions: ResourceAction[] }) {
  return (
    <Flex spaceItems={{ default: "spaceItemsSm" }}>
      {actions.map((action) => (
        <FlexItem key={action.label}>
          {action.children ? <ActionMenu action={action} /> : <ActionButton action={action} />}
        </FlexItem>
      ))}
    </Flex>
  );
}

function ActionButton({ action }: { action: ResourceAction }) {
  const button = (
    <Button
      variant={action.isDanger ? "danger" : "secondary"}
      isAriaDisabled={action.disabledReason !== undefined}
      onClick={() => action.run?.()}
    >
      {action.label}
    </Button>
  );
  if (action.disabledReason === undefined) return button;
  return <Tooltip content={action.disabledReason}>{button}</Tooltip>;
}

function ActionMenu({ action }: { action: ResourceAction }) {
  const [open, setOpen] = useState(false);
  return (
    <Dropdown
      isOpen={open}
      onOpenChange={setOpen}
      popperProps={{ position: "right" }}
      toggle={(ref) => (
        <MenuToggle ref={ref} onClick={() => setOpen(!open)} isExpanded={open}>
          {action.label}
        </MenuToggle>
      )}
    >
      <DropdownList>
        {(action.children ?? []).map((child) => (
          <DropdownItem
            key={child.label}
            isDanger={child.isDanger}
            isAriaDisabled={child.disabledReason !== undefined}
            description={child.disabledReason}
            onClick={() => {
              setOpen(false);
              child.run?.();
            }}
          >
            {child.label}
          </DropdownItem>
        ))}
      </DropdownList>
    </Dropdown>
  );
}
