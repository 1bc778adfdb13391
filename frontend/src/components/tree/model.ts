/**
 * The tree's data as rows: organizations > datacenters > clusters > nodes > instances,
 * flattened to the list the virtualized view draws. Only open branches are walked, so the
 * cost of a render follows what is on screen's branch count, not the size of the cloud
 * (10,000 instances stay unread until their node is opened or a filter finds them).
 */
import type {
  Cluster,
  Datacenter,
  Instance,
  Node,
  Organization,
  OrganizationTree,
} from "../../api/queries";

export type Kind = "organization" | "datacenter" | "cluster" | "node" | "instance";

export type Resource =
  | { kind: "organization"; value: Organization }
  | { kind: "datacenter"; value: Datacenter }
  | { kind: "cluster"; value: Cluster }
  | { kind: "node"; value: Node }
  | { kind: "instance"; value: Instance };

export interface Row {
  /** `<kind>:<id>`, unique across the tree. */
  key: string;
  resource: Resource;
  name: string;
  /** 1 for organizations (aria-level). */
  level: number;
  /** Position among its siblings, from 1, and their count (aria-posinset / aria-setsize). */
  position: number;
  siblings: number;
  parentKey: string | null;
  expandable: boolean;
  expanded: boolean;
  /** An open node whose instances are still loading. */
  loading: boolean;
}

export function keyOf(kind: Kind, id: string): string {
  return `${kind}:${id}`;
}

/** The tree's spine indexed by parent, built once per tree response. */
export interface Spine {
  organizations: OrganizationTree[];
  children: Map<string, Resource[]>;
  parent: Map<string, string>;
}

export function buildSpine(organizations: OrganizationTree[]): Spine {
  const children = new Map<string, Resource[]>();
  const parent = new Map<string, string>();
  const add = (parentKey: string, child: Resource) => {
    const list = children.get(parentKey);
    if (list) list.push(child);
    else children.set(parentKey, [child]);
    parent.set(keyOf(child.kind, child.value.id), parentKey);
  };
  for (const org of organizations) {
    const orgKey = keyOf("organization", org.organization.id);
    children.set(orgKey, []);
    for (const dc of org.datacenters) add(orgKey, { kind: "datacenter", value: dc });
    for (const cluster of org.clusters) {
      add(keyOf("datacenter", cluster.datacenter_id), { kind: "cluster", value: cluster });
    }
    for (const node of org.nodes) add(keyOf("cluster", node.cluster_id), { kind: "node", value: node });
  }
  return { organizations, children, parent };
}

/** The keys above `key`, nearest last (the organization first). */
export function ancestorsOf(spine: Spine, key: string): string[] {
  const chain: string[] = [];
  for (let up = spine.parent.get(key); up !== undefined; up = spine.parent.get(up)) {
    chain.unshift(up);
  }
  return chain;
}

export interface FlattenInput {
  spine: Spine;
  expanded: ReadonlySet<string>;
  /** A node's instances, or undefined while they aren't loaded. */
  instancesOf: (nodeId: string) => Instance[] | undefined;
  /** Lower-cased filter text; empty for none. */
  filter: string;
  /** Branches the user closed while this filter is on (a filter opens every match's path). */
  closedInFilter: ReadonlySet<string>;
}

function childrenOf(input: FlattenInput, resource: Resource): Resource[] | undefined {
  if (resource.kind === "instance") return [];
  if (resource.kind === "node") {
    return input.instancesOf(resource.value.id)?.map((value) => ({ kind: "instance", value }));
  }
  return input.spine.children.get(keyOf(resource.kind, resource.value.id)) ?? [];
}

function nameOf(resource: Resource): string {
  return resource.value.name;
}

/**
 * Keys of every item with a match below it, when filtering: a match marks its ancestors.
 * Instances are read only where `instancesOf` knows them: an opened node's list, or the
 * matches the server's name search found.
 */
function branchesWithMatches(input: FlattenInput): Set<string> {
  const marked = new Set<string>();
  const mark = (key: string) => {
    for (let up: string | undefined = key; up !== undefined && !marked.has(up); ) {
      marked.add(up);
      up = input.spine.parent.get(up);
    }
  };
  const matches = (name: string) => name.toLowerCase().includes(input.filter);
  for (const org of input.spine.organizations) {
    for (const dc of org.datacenters) {
      if (matches(dc.name)) mark(keyOf("organization", org.organization.id));
    }
    for (const cluster of org.clusters) {
      if (matches(cluster.name)) mark(keyOf("datacenter", cluster.datacenter_id));
    }
    for (const node of org.nodes) {
      if (matches(node.name)) mark(keyOf("cluster", node.cluster_id));
      const instances = input.instancesOf(node.id) ?? [];
      if (instances.some((instance) => matches(instance.name))) mark(keyOf("node", node.id));
    }
  }
  return marked;
}

/** The rows on screen, in order. */
export function flatten(input: FlattenInput): Row[] {
  const rows: Row[] = [];
  const filtering = input.filter !== "";
  const below = filtering ? branchesWithMatches(input) : new Set<string>();
  const matches = (resource: Resource) => nameOf(resource).toLowerCase().includes(input.filter);

  // `narrow`: show only matches and their paths (a branch the filter opened); a matching
  // item the user opens shows all its children.
  const walk = (items: Resource[], level: number, parentKey: string | null, narrow: boolean) => {
    const shown = narrow
      ? items.filter((item) => matches(item) || below.has(keyOf(item.kind, item.value.id)))
      : items;
    shown.forEach((resource, index) => {
      const key = keyOf(resource.kind, resource.value.id);
      const children = childrenOf(input, resource);
      // A node's instances are unknown until loaded: it may be opened to find out.
      const expandable = children === undefined || children.length > 0;
      const hasMatchBelow = below.has(key);
      const wanted = filtering
        ? !input.closedInFilter.has(key) && (hasMatchBelow || input.expanded.has(key))
        : input.expanded.has(key);
      const expanded = expandable && wanted;
      rows.push({
        key,
        resource,
        name: nameOf(resource),
        level,
        position: index + 1,
        siblings: shown.length,
        parentKey,
        expandable,
        expanded,
        loading: expanded && children === undefined,
      });
      if (!expanded || children === undefined) return;
      walk(children, level + 1, key, filtering && hasMatchBelow);
    });
  };

  const organizations: Resource[] = input.spine.organizations.map((org) => ({
    kind: "organization",
    value: org.organization,
  }));
  walk(organizations, 1, null, filtering);
  return rows;
}
