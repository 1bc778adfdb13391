/**
 * Every query key and read hook of the UI, in one place, so the event feed (`events.ts`)
 * and mutations invalidate exactly what a change touches. Server state lives only here,
 * in TanStack Query's cache: components never copy it into their own state.
 */
import { queryOptions, useQuery } from "@tanstack/react-query";

import { api, unwrap } from "./client";
import { retryNetworkFailure } from "./errors";
import { listNics, listPortGroups, listVSwitches } from "./network";
import type { components } from "./schema";

export type Schemas = components["schemas"];
export type CurrentUser = Schemas["CurrentUser"];
export type OrganizationTree = Schemas["OrganizationTree"];
export type Organization = Schemas["Organization"];
export type Datacenter = Schemas["Datacenter"];
export type Cluster = Schemas["Cluster"];
export type ClusterFull = Schemas["ClusterFull"];
export type Node = Schemas["Node"];
export type NodeDetail = Schemas["NodeDetail"];
export type Instance = Schemas["Instance"];
export type Task = Schemas["Task"];
export type Device = Schemas["Device"];
export type Snapshot = Schemas["Snapshot"];
export type Image = Schemas["Image"];
export type Volume = Schemas["Volume"];
export type NodePool = Schemas["NodePool"];
/** A cluster's storage pool with its derived status and its nodes' states. */
export type ClusterPool = Schemas["StoragePool"];
export type NodeHardware = Schemas["NodeHardware"];
export type NodeTask = Schemas["NodeTask"];
export type ClusterHardware = Schemas["ClusterHardware"];
export type Location = Schemas["Location"];
export type User = Schemas["User"];
export type Policy = Schemas["Policy"];
export type Statement = Schemas["StatementIn"];
export type ApiToken = Schemas["Token"];
export type AuditEntry = Schemas["AuditEntry"];
export type Lockout = Schemas["UserLockout"];
export type ImportResult = Schemas["ImportResult"];
export type ActionInfo = Schemas["ActionInfo"];
export type NodeLicense = Schemas["NodeLicense"];
/** One series of a node's or an instance's metrics: `header` names the columns of each
 * row of `data`, time (Unix seconds) first; a step without samples has no row. */
export type MetricSeries = Schemas["MetricSeries"];
/** The ranges a metrics query takes (`?interval=`): 1h, 4h, 1d, 7d, 30d, 1y. */
export type MetricsInterval = Schemas["Interval"];
export type ClusterMetrics = Schemas["ClusterMetrics"];
export type ClusterLicensing = Schemas["ClusterLicensing"];
/** valid, expiring (within 30 days), expired, missing: a cluster's and each node's. */
export type LicensingStatus = NodeLicense["status"];

/**
 * One architecture's guest capabilities (GET /nodes/{id}/capabilities, keyed by arch). The
 * API declares that reply as a free-form object (its shape is the product's), so the UI
 * states the part it reads here; see agent/loop.py capabilities_json.
 */
export interface ArchCapabilities {
  arch: string;
  wordsize: number;
  emulator: string;
  kvm_supported: boolean;
  accelerator?: string;
  accelerator_reason?: string;
  firmware?: Record<string, string[]>;
  cpu_models?: { name: string; vendor: string; experimental: boolean }[];
  default_machine?: string;
  machines?: { name: string; max_vcpus: number }[];
  features?: Record<string, boolean>;
  /** Whether the node runs containers (its LXC driver answered), and why not; absent from a
   * node whose agent predates containers. */
  containers?: boolean;
  containers_reason?: string;
}

export const keys = {
  me: ["me"] as const,
  tree: ["tree"] as const,
  organization: (id: string) => ["organization", id] as const,
  /** Every datacenter page; a change in its clusters or nodes (their health) makes them stale. */
  datacenters: ["datacenter"] as const,
  datacenter: (id: string) => ["datacenter", id] as const,
  /** Every cluster page and its hardware totals. */
  clusters: ["cluster"] as const,
  cluster: (id: string) => ["cluster", id] as const,
  clusterHardware: (id: string) => ["cluster", id, "hardware"] as const,
  node: (id: string) => ["node", id] as const,
  nodeHardware: (id: string) => ["node", id, "hardware"] as const,
  nodeCapabilities: (id: string) => ["node", id, "capabilities"] as const,
  /** Whether the signed-in user may open a shell on the node, and as which Linux user. */
  nodeConsole: (id: string) => ["node", id, "console"] as const,
  /** Every node's storage pools: image events don't name the node, and an image uses pool space. */
  pools: ["pools"] as const,
  nodePools: (id: string) => ["pools", "node", id] as const,
  /** A cluster's storage pools (its Storage tab); under `pools`, which every pool event
   * invalidates, as node states change without the cluster being named. */
  clusterPools: (id: string) => ["pools", "cluster", id] as const,
  pool: (id: string) => ["pools", "pool", id] as const,
  /** A node's instances; the tree loads them only when the node is expanded, the node's
   * page always. */
  nodeInstances: (nodeId: string) => ["instances", "node", nodeId] as const,
  instances: ["instances"] as const,
  /** Instances whose name holds `text` (the tree's filter); under `instances`, so every
   * instance event refreshes a search on screen. */
  instanceSearch: (text: string, limit: number) => ["instances", "search", text, limit] as const,
  /** The node that answers this browser (the healthcheck's `id`). */
  servingNode: ["serving-node"] as const,
  instance: (id: string) => ["instance", id] as const,
  /** Under `instance`, so every event about the instance refreshes them too. */
  instanceDevices: (id: string) => ["instance", id, "devices"] as const,
  instanceSnapshots: (id: string) => ["instance", id, "snapshots"] as const,
  /** Every image list; every image event invalidates this prefix. */
  images: ["images"] as const,
  nodeImages: (nodeId: string) => ["images", "node", nodeId] as const,
  volumes: ["volumes"] as const,
  nodeVolumes: (nodeId: string) => ["volumes", "node", nodeId] as const,
  /** A node's volumes in one pool (the Storage Pool filter); under the node's volumes. */
  nodePoolVolumes: (nodeId: string, poolId: string) =>
    ["volumes", "node", nodeId, "pool", poolId] as const,
  volume: (id: string) => ["volume", id] as const,
  /** Every network list: NICs, vSwitches and port groups of every node. A NIC moving into
   * a vSwitch changes both lists, and port groups show the vSwitch's name and the
   * interfaces on them, so every network event invalidates the whole prefix. */
  network: ["network"] as const,
  nodeNics: (nodeId: string) => ["network", "nics", nodeId] as const,
  nodeVSwitches: (nodeId: string) => ["network", "vswitches", nodeId] as const,
  nodePortGroups: (nodeId: string) => ["network", "port_groups", nodeId] as const,
  /** Every task list; task events invalidate this prefix. */
  tasks: ["tasks"] as const,
  recentTasks: (limit: number) => ["tasks", "recent", limit] as const,
  /** A node's task list; under `tasks`, as task events don't name the node. */
  nodeTasks: (id: string) => ["tasks", "node", id] as const,
  task: (id: string) => ["task", id] as const,
  /** The world map's land shapes, a static asset of the UI. */
  worldMap: ["asset", "world-map"] as const,
  /** Every organization's users; a change to one user makes its organization's list stale. */
  users: ["users"] as const,
  organizationUsers: (organizationId: string) => ["users", organizationId] as const,
  user: (id: string) => ["user", id] as const,
  /** Under `user`, so a change to the user refreshes its tokens too. */
  userTokens: (id: string) => ["user", id, "tokens"] as const,
  policies: ["policies"] as const,
  organizationPolicies: (organizationId: string) => ["policies", organizationId] as const,
  /** The action vocabulary a policy statement chooses from; fixed while the node runs. */
  policyActions: ["policy-actions"] as const,
  /** Every audit page; any change (which the server audits) may add rows to it. */
  audit: ["audit"] as const,
  organizationAudit: (organizationId: string, filter: AuditFilter) =>
    ["audit", organizationId, filter] as const,
  lockouts: ["lockouts"] as const,
  /** Every metrics query; refreshed by polling (samples publish no events). */
  metrics: ["metrics"] as const,
  nodeMetrics: (id: string, interval: MetricsInterval) =>
    ["metrics", "node", id, interval] as const,
  instanceMetricsHistory: (id: string, interval: MetricsInterval) =>
    ["metrics", "instance", id, interval] as const,
  /** The instance's latest sample (and how old it is): whether it is Connected. */
  instanceMetrics: (id: string) => ["metrics", "instance", id, "latest"] as const,
  clusterMetrics: (id: string) => ["metrics", "cluster", id] as const,
  /** Every licence view: setting one node's key changes its cluster's status too. */
  licenses: ["license"] as const,
  nodeLicense: (id: string) => ["license", "node", id] as const,
  clusterLicensing: (id: string) => ["license", "cluster", id] as const,
  organizationLockouts: (organizationId: string, page: number, entries: number) =>
    ["lockouts", organizationId, page, entries] as const,
};

/**
 * How often the tree and a node's page ask again although no event came. A node that stops
 * sending heartbeats turns Down on the server by age alone (`last_seen` older than
 * NODE_ALIVE_WINDOW, 30 s in services/tenancy/views.py), which publishes no event; polling
 * at half that window lets the Alive/Down badges follow within it.
 */
export const ALIVE_POLL_MS = 15_000;

export function useMe() {
  return useQuery({
    queryKey: keys.me,
    queryFn: async () => unwrap(await api.GET("/api/v1/auth/me")),
    // A 401 sends the user to sign-in at once; a request the network dropped is asked
    // again first, or a blip would look like a signed-out session.
    retry: retryNetworkFailure,
    staleTime: Infinity,
  });
}

/**
 * Organizations with their datacenters, clusters and nodes: the resource tree's spine. As
 * options too, so the app can ask for it while the session is still being checked.
 */
export function treeQuery() {
  return queryOptions({
    queryKey: keys.tree,
    queryFn: async () => unwrap(await api.GET("/api/v1/organizations")),
    refetchInterval: ALIVE_POLL_MS, // nodes going Down publish no event
  });
}

export function useTree() {
  return useQuery(treeQuery());
}

/** A node's instances as query options, for `useQueries` over every expanded node. */
export function nodeInstancesQuery(nodeId: string) {
  return queryOptions({
    queryKey: keys.nodeInstances(nodeId),
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/instances", { params: { query: { node_id: nodeId } } })),
  });
}

export function useNodeInstances(nodeId: string, enabled = true) {
  return useQuery({ ...nodeInstancesQuery(nodeId), enabled });
}

/**
 * How many matches of a name search the tree shows; it asks for one more, to know whether
 * there are more than it shows (the API answers a bare array, as all its lists).
 */
export const SEARCH_SHOWN = 200;

/**
 * Instances whose name holds `text` in any case, across everything the user sees: the
 * server searches (the tree knows only the instances of opened nodes), at most
 * SEARCH_SHOWN + 1 of them, by name.
 */
export function instanceSearchQuery(text: string) {
  const limit = SEARCH_SHOWN + 1;
  return queryOptions({
    queryKey: keys.instanceSearch(text, limit),
    queryFn: async ({ signal }) =>
      unwrap(
        await api.GET("/api/v1/instances", {
          params: { query: { name_contains: text, limit } },
          signal,
        }),
      ),
  });
}

/**
 * The ID of the node that served this page: the healthcheck answers with the node it runs
 * on, and every request of this browser goes to that node (seed: the light green dot).
 */
export function servingNodeQuery() {
  return queryOptions({
    queryKey: keys.servingNode,
    queryFn: async () => unwrap(await api.GET("/api/v1/healthcheck")).id,
    staleTime: Infinity,
  });
}

export function useServingNode() {
  return useQuery(servingNodeQuery());
}

export function useOrganization(id: string) {
  return useQuery({
    queryKey: keys.organization(id),
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/organizations/{organization_id}", {
          params: { path: { organization_id: id } },
        }),
      ),
  });
}

export function useDatacenter(id: string) {
  return useQuery({
    queryKey: keys.datacenter(id),
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/datacenters/{datacenter_id}", {
          params: { path: { datacenter_id: id } },
        }),
      ),
  });
}

export function useCluster(id: string) {
  return useQuery({
    queryKey: keys.cluster(id),
    // Its health follows its nodes' heartbeats, whose age alone turns a node dead.
    refetchInterval: ALIVE_POLL_MS,
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/clusters/{cluster_id}", { params: { path: { cluster_id: id } } }),
      ),
  });
}

export function useClusterHardware(id: string) {
  return useQuery({
    queryKey: keys.clusterHardware(id),
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/clusters/{cluster_id}/hardware", {
          params: { path: { cluster_id: id } },
        }),
      ),
  });
}

export function useNode(id: string, enabled = true) {
  return useQuery({
    queryKey: keys.node(id),
    enabled,
    refetchInterval: ALIVE_POLL_MS, // its Alive/Down state changes without an event
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/nodes/{node_id}", { params: { path: { node_id: id } } })),
  });
}

export function useInstance(id: string, enabled = true) {
  return useQuery({
    enabled,
    queryKey: keys.instance(id),
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/instances/{instance_id}", {
          params: { path: { instance_id: id } },
        }),
      ),
  });
}

/** One task, for `useQuery`, or for `fetchQuery` when an event names it. */
export function taskQuery(id: string) {
  return queryOptions({
    queryKey: keys.task(id),
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/tasks/{task_id}", { params: { path: { task_id: id } } })),
  });
}

export function useTask(id: string | null) {
  return useQuery({ ...taskQuery(id ?? ""), enabled: id !== null });
}

/** How many tasks the drawer lists: the newest, which is what a user watches. */
export const RECENT_TASKS = 50;

/** The newest tasks the user may see, newest first (the tasks drawer and its count). The
 * event feed invalidates them on every task event, so they follow progress live. */
export function useTasks(limit = RECENT_TASKS) {
  return useQuery({
    queryKey: keys.recentTasks(limit),
    queryFn: async () => unwrap(await api.GET("/api/v1/tasks", { params: { query: { limit } } })),
  });
}

export function useInstanceDevices(id: string) {
  return useQuery({
    queryKey: keys.instanceDevices(id),
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/instances/{instance_id}/devices", {
          params: { path: { instance_id: id } },
        }),
      ),
  });
}

export function useNodeHardware(id: string) {
  return useQuery({
    queryKey: keys.nodeHardware(id),
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/nodes/{node_id}/hardware", { params: { path: { node_id: id } } }),
      ),
  });
}

/** Whether the node's Console tab shows (`permitted`) and, if no shell can open, why not. */
export function useNodeConsoleAccess(id: string) {
  return useQuery({
    queryKey: keys.nodeConsole(id),
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/nodes/{node_id}/console", { params: { path: { node_id: id } } }),
      ),
  });
}

export function useNodeCapabilities(id: string) {
  return useQuery({
    queryKey: keys.nodeCapabilities(id),
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/nodes/{node_id}/capabilities", {
          params: { path: { node_id: id } },
        }),
      ) as Record<string, ArchCapabilities>,
  });
}

export function useNodePools(nodeId: string) {
  return useQuery({
    queryKey: keys.nodePools(nodeId),
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/nodes/{node_id}/storage/pools", {
          params: { path: { node_id: nodeId } },
        }),
      ),
  });
}

/** A cluster's storage pools, each with its status and enabled nodes. */
export function useClusterPools(clusterId: string) {
  return useQuery({
    queryKey: keys.clusterPools(clusterId),
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/clusters/{cluster_id}/storage_pools", {
          params: { path: { cluster_id: clusterId } },
        }),
      ),
  });
}

export function useInstanceSnapshots(id: string) {
  return useQuery({
    queryKey: keys.instanceSnapshots(id),
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/instances/{instance_id}/snapshots", {
          params: { path: { instance_id: id } },
        }),
      ),
  });
}

/** The images of a node (ISOs for a CD-ROM, disk images for deploy). */
export function useNodeImages(nodeId: string, enabled = true) {
  return useQuery({
    queryKey: keys.nodeImages(nodeId),
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/nodes/{node_id}/images/images", {
          params: { path: { node_id: nodeId } },
        }),
      ),
    enabled,
  });
}

/** The volumes of a node, attached or free. */
export function useNodeVolumes(nodeId: string, enabled = true) {
  return useQuery({
    queryKey: keys.nodeVolumes(nodeId),
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/volumes", { params: { query: { node_id: nodeId } } })),
    enabled,
  });
}

/** A node's volumes in one storage pool: the server filters (the Storage Pool dropdown). */
export function useNodePoolVolumes(nodeId: string, poolId: string, enabled = true) {
  return useQuery({
    enabled,
    queryKey: keys.nodePoolVolumes(nodeId, poolId),
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/volumes", {
          params: { query: { node_id: nodeId, storage_pool_id: poolId } },
        }),
      ),
  });
}

export function useNodeTasks(id: string) {
  return useQuery({
    queryKey: keys.nodeTasks(id),
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/nodes/{node_id}/tasks", { params: { path: { node_id: id } } })),
  });
}

/** The audit trail's filters and page, as `GET /organizations/{id}/audit` takes them. */
export interface AuditFilter {
  entries: number;
  page: number;
  user_id?: string;
  action?: string;
  target_id?: string;
  /** RFC 3339 times. */
  since?: string;
  until?: string;
}

/** An organization's users (every one for the IAM tab's list). */
export function useUsers(organizationId: string, enabled = true) {
  return useQuery({
    queryKey: keys.organizationUsers(organizationId),
    enabled,
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/users", { params: { query: { organization_id: organizationId } } }),
      ),
  });
}

/** A user's API tokens (their own, or another's for an administrator). */
export function useUserTokens(userId: string) {
  return useQuery({
    queryKey: keys.userTokens(userId),
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/users/{user_id}/tokens", { params: { path: { user_id: userId } } }),
      ),
  });
}

/** An organization's policies: the built-in ones first, then its own. */
export function usePolicies(organizationId: string, enabled = true) {
  return useQuery({
    queryKey: keys.organizationPolicies(organizationId),
    enabled,
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/policies", {
          params: { query: { organization_id: organizationId } },
        }),
      ),
  });
}

export function useActionNames() {
  return useQuery({
    queryKey: keys.policyActions,
    staleTime: Infinity,
    queryFn: async () => unwrap(await api.GET("/api/v1/policies/actions")),
  });
}

/** One page of an audit trail, and how many entries match the filter in all. */
export interface AuditPage {
  entries: AuditEntry[];
  /** From the `X-Total-Count` header; null when the server didn't send it. */
  total: number | null;
}

/** One page of an organization's audit trail, newest first. */
export function useAudit(organizationId: string, filter: AuditFilter) {
  return useQuery({
    queryKey: keys.organizationAudit(organizationId, filter),
    // A new page keeps the old rows on screen until it arrives, instead of a spinner.
    placeholderData: (previous) => previous,
    queryFn: async (): Promise<AuditPage> => {
      const result = await api.GET("/api/v1/organizations/{organization_id}/audit", {
        params: { path: { organization_id: organizationId }, query: filter },
      });
      const entries = unwrap(result);
      // The route answers CSV too, when asked by Accept; this asks for JSON.
      if (typeof entries === "string") throw new Error("The server answered CSV, not JSON.");
      const total = Number(result.response.headers.get("X-Total-Count") ?? Number.NaN);
      return { entries, total: Number.isFinite(total) ? total : null };
    },
  });
}

/** One page of an organization's lockouts (User Lockouts). */
export function useLockouts(organizationId: string, page: number, entries: number) {
  return useQuery({
    queryKey: keys.organizationLockouts(organizationId, page, entries),
    placeholderData: (previous) => previous,
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/organizations/{organization_id}/lockouts", {
          params: { path: { organization_id: organizationId }, query: { page, entries } },
        }),
      ),
  });
}

/**
 * How often a metrics chart asks again: about once per point of its range (the agent
 * samples every 10 s; a year's chart gains a point only every few hours), never less than
 * every 5 minutes, so a chart left open moves without events (samples publish none).
 */
export const METRICS_POLL_MS: Record<MetricsInterval, number> = {
  "1h": 10_000,
  "4h": 30_000,
  "1d": 60_000,
  "7d": 300_000,
  "30d": 300_000,
  "1y": 300_000,
};

/** Whose series a chart shows: a node's or an instance's. */
export interface MetricsOwner {
  kind: "node" | "instance";
  id: string;
}

/**
 * A node's series (cpu, memory, storage, network, disk_io, load) or an instance's (cpu,
 * memory, network, ...) over `interval`: the two answer in one shape.
 */
export function useMetricSeries(owner: MetricsOwner, interval: MetricsInterval) {
  const { kind, id } = owner;
  return useQuery({
    queryKey:
      kind === "node" ? keys.nodeMetrics(id, interval) : keys.instanceMetricsHistory(id, interval),
    refetchInterval: METRICS_POLL_MS[interval],
    // Another range keeps the charts on screen until its data comes, instead of a spinner;
    // another node's or instance's charts are never shown in their place.
    placeholderData: (previous, previousQuery) =>
      previousQuery?.queryKey[1] === kind && previousQuery.queryKey[2] === id ? previous : undefined,
    queryFn: async () =>
      unwrap(
        kind === "node"
          ? await api.GET("/api/v1/nodes/{node_id}/metrics", {
              params: { path: { node_id: id }, query: { interval } },
            })
          : await api.GET("/api/v1/instances/{instance_id}/metrics/history", {
              params: { path: { instance_id: id }, query: { interval } },
            }),
      ),
  });
}

/** How often the instance's latest sample is asked for: the agent's sampling period. */
export const LATEST_SAMPLE_POLL_MS = 10_000;

/** The latest sample of an instance, with its age by the server's clock. */
export interface LatestSample {
  metrics: Schemas["InstanceMetrics"];
  /**
   * Seconds between the sample and the server's answer (its `Date` header), so the
   * browser's clock, which may be off, plays no part; null without a sample.
   */
  ageSeconds: number | null;
}

export function useInstanceMetrics(id: string, enabled = true) {
  return useQuery({
    enabled,
    queryKey: keys.instanceMetrics(id),
    refetchInterval: LATEST_SAMPLE_POLL_MS,
    queryFn: async (): Promise<LatestSample> => {
      const result = await api.GET("/api/v1/instances/{instance_id}/metrics", {
        params: { path: { instance_id: id } },
      });
      const metrics = unwrap(result);
      const sampled = metrics.timestamp ? Date.parse(metrics.timestamp) : Number.NaN;
      const answered = Date.parse(result.response.headers.get("Date") ?? "");
      const clock = Number.isNaN(answered) ? Date.now() : answered;
      return {
        metrics,
        ageSeconds: Number.isNaN(sampled) ? null : Math.max(0, (clock - sampled) / 1000),
      };
    },
  });
}

/** A cluster's CPU, memory and storage, used and total, per node and in all. */
export function useClusterMetrics(id: string) {
  return useQuery({
    queryKey: keys.clusterMetrics(id),
    refetchInterval: 30_000,
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/clusters/{cluster_id}/metrics", {
          params: { path: { cluster_id: id } },
        }),
      ),
  });
}

/** A node's licence key and whether it is valid. */
export function useNodeLicense(id: string) {
  return useQuery({
    queryKey: keys.nodeLicense(id),
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/nodes/{node_id}/license", {
          params: { path: { node_id: id } },
        }),
      ),
  });
}

/** The cluster's licensing status and each node's. Keys expire with time alone, so the
 * status is asked again now and then, not only after events. */
export function useClusterLicensing(id: string) {
  return useQuery({
    queryKey: keys.clusterLicensing(id),
    refetchInterval: 300_000,
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/clusters/{cluster_id}/licensing", {
          params: { path: { cluster_id: id } },
        }),
      ),
  });
}

/** A node's NICs (the Network tab's NICs, and the uplinks a vSwitch can take). */
export function useNodeNics(nodeId: string, enabled = true) {
  return useQuery({
    queryKey: keys.nodeNics(nodeId),
    queryFn: () => listNics(nodeId),
    enabled,
  });
}

/** A node's standalone vSwitches. */
export function useNodeVSwitches(nodeId: string, enabled = true) {
  return useQuery({
    queryKey: keys.nodeVSwitches(nodeId),
    queryFn: () => listVSwitches(nodeId),
    enabled,
  });
}

/** The port groups of a node's vSwitches, with the instance interfaces on each. */
export function useNodePortGroups(nodeId: string, enabled = true) {
  return useQuery({
    queryKey: keys.nodePortGroups(nodeId),
    queryFn: () => listPortGroups(nodeId),
    enabled,
  });
}
