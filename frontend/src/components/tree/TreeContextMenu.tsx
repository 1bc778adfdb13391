/**
 * The tree's right-click menu: the item's actions from its area's `use<Area>Actions` (the
 * same list the page header shows), at the pointer, or under the row when opened from the
 * keyboard (Shift+F10, the ContextMenu key). Escape, a click elsewhere or an action closes
 * it, and focus goes back to the row.
 */
import { Menu, MenuContent, MenuItem, MenuList } from "@patternfly/react-core";
import { useEffect, useLayoutEffect, useRef } from "react";
import { createPortal } from "react-dom";

import type { ResourceAction } from "../common/actions";
import { useClusterActions } from "../clusters/actions";
import { useDatacenterActions } from "../datacenters/actions";
import { useInstanceActions } from "../instances/actions";
import { useNodeActions } from "../nodes/actions";
import { useOrganizationActions } from "../organizations/actions";
import type { Resource } from "./model";

interface Props {
  resource: Resource;
  x: number;
  y: number;
  /** `restoreFocus`: give focus back to the row (Escape), not when focus went elsewhere. */
  onClose: (restoreFocus: boolean) => void;
}

/** One component per kind, so each calls its own area's hook unconditionally. */
export function TreeContextMenu(props: Props) {
  const { resource } = props;
  switch (resource.kind) {
    case "organization":
      return <OrganizationMenu {...props} value={resource.value} />;
    case "datacenter":
      return <DatacenterMenu {...props} value={resource.value} />;
    case "cluster":
      return <ClusterMenu {...props} value={resource.value} />;
    case "node":
      return <NodeMenu {...props} value={resource.value} />;
    case "instance":
      return <InstanceMenu {...props} value={resource.value} />;
  }
}

type KindProps<T> = Props & { value: T };
type Of<K extends Resource["kind"]> = Extract<Resource, { kind: K }>["value"];

function OrganizationMenu(props: KindProps<Of<"organization">>) {
  return <ActionMenu {...props} actions={useOrganizationActions(props.value)} />;
}
function DatacenterMenu(props: KindProps<Of<"datacenter">>) {
  return <ActionMenu {...props} actions={useDatacenterActions(props.value)} />;
}
function ClusterMenu(props: KindProps<Of<"cluster">>) {
  return <ActionMenu {...props} actions={useClusterActions(props.value)} />;
}
function NodeMenu(props: KindProps<Of<"node">>) {
  return <ActionMenu {...props} actions={useNodeActions(props.value)} />;
}
function InstanceMenu(props: KindProps<Of<"instance">>) {
  return <ActionMenu {...props} actions={useInstanceActions(props.value)} />;
}

function ActionItems({ actions, close }: { actions: ResourceAction[]; close: (restoreFocus: boolean) => void }) {
  return (
    <>
      {actions.map((action) =>
        action.children ? (
          <MenuItem
            key={action.label}
            itemId={action.label}
            flyoutMenu={
              <Menu aria-label={action.label}>
                <MenuContent>
                  <MenuList aria-label={action.label}>
                    <ActionItems actions={action.children} close={close} />
                  </MenuList>
                </MenuContent>
              </Menu>
            }
          >
            {action.label}
          </MenuItem>
        ) : (
          <MenuItem
            key={action.label}
            itemId={action.label}
            isDanger={action.isDanger}
            isAriaDisabled={action.disabledReason !== undefined}
            description={action.disabledReason}
            onClick={() => {
              if (action.disabledReason !== undefined) return;
              close(false);
              action.run?.();
            }}
          >
            {action.label}
          </MenuItem>
        ),
      )}
    </>
  );
}

function ActionMenu({ resource, x, y, onClose, actions }: Props & { actions: ResourceAction[] }) {
  const root = useRef<HTMLDivElement>(null);
  const name = resource.value.name;

  // Keep the menu inside the window: flip left/up when the pointer is near an edge.
  useLayoutEffect(() => {
    const element = root.current;
    if (!element) return undefined;
    const { width, height } = element.getBoundingClientRect();
    const left = x + width > window.innerWidth ? Math.max(0, x - width) : x;
    const top = y + height > window.innerHeight ? Math.max(0, y - height) : y;
    element.style.left = `${left}px`;
    element.style.top = `${top}px`;
    // The first item takes focus, a disabled one too (aria-disabled, so it can be focused
    // and read out, as WAI-ARIA advises for menus). On the next frame: on Linux the
    // right-click's mousedown, which focuses the row, finishes after this render.
    const frame = requestAnimationFrame(() => {
      (element.querySelector<HTMLElement>('[role="menuitem"]') ?? element).focus();
    });
    return () => cancelAnimationFrame(frame);
  }, [x, y]);

  // PatternFly renders a flyout's trigger (Power) as a bare button inside the menu, which
  // a screen reader (and a test by role) doesn't find among the menu's items; the WAI-ARIA
  // menu pattern makes it a menuitem that has a popup. After every render: the element may
  // be new.
  useLayoutEffect(() => {
    root.current
      ?.querySelectorAll('button[aria-haspopup="menu"]')
      .forEach((trigger) => trigger.setAttribute("role", "menuitem"));
  });

  // A press anywhere outside closes it (capture: before the press acts on anything else).
  useEffect(() => {
    const away = (event: Event) => {
      if (!root.current?.contains(event.target as globalThis.Node)) onClose(false);
    };
    const gone = () => onClose(false);
    // Escape closes it wherever focus is (a right-click may leave focus on the row).
    const escape = (event: KeyboardEvent) => {
      if (event.key !== "Escape") return;
      event.preventDefault();
      event.stopPropagation();
      onClose(true);
    };
    document.addEventListener("keydown", escape, true);
    document.addEventListener("mousedown", away, true);
    window.addEventListener("blur", gone);
    window.addEventListener("resize", gone);
    return () => {
      document.removeEventListener("keydown", escape, true);
      document.removeEventListener("mousedown", away, true);
      window.removeEventListener("blur", gone);
      window.removeEventListener("resize", gone);
    };
  }, [onClose]);

  return createPortal(
    <div
      ref={root}
      className="ce-tree-menu"
      tabIndex={-1}
      style={{ left: x, top: y }}
      onKeyDown={(event) => {
        if (event.key === "Tab") {
          event.preventDefault();
          event.stopPropagation();
          onClose(true);
        }
      }}
      onContextMenu={(event) => event.preventDefault()}
    >
      <Menu containsFlyout aria-label={`Actions for ${name}`}>
        <MenuContent>
          <MenuList aria-label={`Actions for ${name}`}>
            {actions.length > 0 ? (
              <ActionItems actions={actions} close={onClose} />
            ) : (
              <MenuItem itemId="none" isAriaDisabled>
                No actions
              </MenuItem>
            )}
          </MenuList>
        </MenuContent>
      </Menu>
    </div>,
    document.body,
  );
}
