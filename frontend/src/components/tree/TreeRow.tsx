/**
 * One row of the resource tree: a `treeitem` with its chevron, kind icon, name and state.
 * A container's row has a cube for an icon instead of a VM's screen, and says "Container"
 * in its description, after its state. Memoized on plain props, so a change to one
 * instance redraws one row, not the screen.
 */
import { Label, Spinner } from "@patternfly/react-core";
import AngleRightIcon from "@patternfly/react-icons/dist/esm/icons/angle-right-icon";
import BuildingIcon from "@patternfly/react-icons/dist/esm/icons/building-icon";
import ClusterIcon from "@patternfly/react-icons/dist/esm/icons/cluster-icon";
import CubeIcon from "@patternfly/react-icons/dist/esm/icons/cube-icon";
import ServerIcon from "@patternfly/react-icons/dist/esm/icons/server-icon";
import VirtualMachineIcon from "@patternfly/react-icons/dist/esm/icons/virtual-machine-icon";
import WarehouseIcon from "@patternfly/react-icons/dist/esm/icons/warehouse-icon";
import { memo, type MouseEvent } from "react";

import { stateColor, stateTitle } from "../instances/states";
import type { Kind } from "./model";

const ICONS: Record<Kind, typeof ServerIcon> = {
  organization: BuildingIcon,
  datacenter: WarehouseIcon,
  cluster: ClusterIcon,
  node: ServerIcon,
  instance: VirtualMachineIcon,
};

function StateBadge({ kind, state, id }: { kind: Kind; state: string; id: string }) {
  if (kind === "node") {
    const alive = state === "alive";
    return (
      <Label id={id} isCompact color={alive ? "green" : "red"} className="ce-tree__badge">
        {alive ? "Alive" : "Down"}
      </Label>
    );
  }
  // Colours and words as every instance view shows them (instances/states.ts).
  const color = stateColor(state);
  const busy = color === "blue";
  return (
    <Label
      id={id}
      isCompact
      color={color}
      icon={busy ? <Spinner size="sm" aria-hidden /> : undefined}
      className="ce-tree__badge"
    >
      {stateTitle(state)}
    </Label>
  );
}

export interface TreeRowProps {
  rowKey: string;
  kind: Kind;
  name: string;
  level: number;
  position: number;
  siblings: number;
  expandable: boolean;
  expanded: boolean;
  loading: boolean;
  selected: boolean;
  tabbable: boolean;
  /** The instance's type in words when it is a container ("Container (LXC)"); "" else. */
  container: string;
  /** Instance state, or "alive"/"down" for a node; empty for the other kinds. */
  state: string;
  /** Why the state is what it is (an instance's state_message), as a tooltip. */
  stateMessage: string;
  /** This browser's node (the light green dot). */
  serving: boolean;
  /** Where the virtualizer places the row, in px from the top, and its height. */
  offset: number;
  height: number;
  onToggle: (key: string) => void;
  onActivate: (key: string) => void;
  onMenu: (key: string, x: number, y: number) => void;
}

export const TreeRow = memo(function TreeRow(props: TreeRowProps) {
  const { rowKey, kind, name, level, expandable, expanded, loading, selected, serving, state } =
    props;
  const Icon = props.container ? CubeIcon : ICONS[kind];
  const domId = `tree-${rowKey.replace(":", "-")}`;
  const described = [
    serving ? `${domId}-serving` : "",
    state ? `${domId}-state` : "",
    props.container ? `${domId}-type` : "",
  ]
    .filter(Boolean)
    .join(" ");
  const toggle = (event: MouseEvent) => {
    // The chevron opens the branch only; the row itself opens the resource's page.
    event.stopPropagation();
    props.onToggle(rowKey);
  };
  return (
    <div
      role="treeitem"
      id={domId}
      data-key={rowKey}
      aria-label={name}
      aria-describedby={described || undefined}
      aria-level={level}
      aria-posinset={props.position}
      aria-setsize={props.siblings}
      aria-expanded={expandable ? expanded : undefined}
      aria-selected={selected}
      aria-busy={loading || undefined}
      tabIndex={props.tabbable ? 0 : -1}
      className={`ce-tree__row${selected ? " ce-tree__row--selected" : ""}`}
      style={{
        transform: `translateY(${props.offset}px)`,
        height: props.height,
        paddingInlineStart: `${(level - 1) + 0.25}rem`,
      }}
      onClick={() => props.onActivate(rowKey)}
      onDoubleClick={() => expandable && props.onToggle(rowKey)}
      onContextMenu={(event) => {
        event.preventDefault();
        props.onMenu(rowKey, event.clientX, event.clientY);
      }}
    >
      <span className="ce-tree__toggle" aria-hidden onClick={expandable ? toggle : undefined}>
        {loading ? (
          <Spinner size="sm" aria-label="Loading" />
        ) : expandable ? (
          <AngleRightIcon className={expanded ? "ce-tree__chevron--open" : undefined} />
        ) : null}
      </span>
      <span className="ce-tree__icon" title={props.container || undefined}>
        <Icon aria-hidden />
      </span>
      {props.container && (
        <span id={`${domId}-type`} className="pf-v6-screen-reader">
          {props.container}
        </span>
      )}
      <span className="ce-tree__name" title={name}>
        {name}
      </span>
      {serving && (
        <span
          id={`${domId}-serving`}
          className="ce-tree__serving"
          title="You are connected to this node"
          aria-label="You are connected to this node"
          role="img"
        />
      )}
      {state && (
        <span className="ce-tree__state" title={props.stateMessage || undefined}>
          <StateBadge kind={kind} state={state} id={`${domId}-state`} />
        </span>
      )}
    </div>
  );
});
