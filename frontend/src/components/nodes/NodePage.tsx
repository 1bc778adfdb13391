/**
 * A node's page: its summary (state, health with its reasons, licence, system, time,
 * version), its CPU, memory, storage, network, load and disk charts over a chosen range
 * (the seed's node-level monitoring), hardware, capabilities with the accelerator it uses
 * (KVM or TCG, and why), the instances on it, its storage pools and volumes, its network
 * (vSwitches, port groups, NICs), its tasks, and (for users who may open one) a shell on
 * it in the Console tab.
 */
import { Card, CardBody, CardTitle, Grid, GridItem } from "@patternfly/react-core";
import { Link, useParams } from "react-router";

import {
  type NodeDetail,
  useNode,
  useNodeConsoleAccess,
  useNodeInstances,
  useTree,
} from "../../api/queries";
import { paths } from "../app/routes";
import { ActionsDropdown } from "../common/actions";
import { Details } from "../common/Details";
import { formatDuration, formatTime, formatUnixTime } from "../common/format";
import { QueryState, ResourcePage } from "../common/ResourcePage";
import { ImagesCard } from "../images/ImagesCard";
import { NodeLicense } from "../licensing/NodeLicense";
import { HealthStatus } from "../monitoring/Health";
import { MetricsPanel } from "../monitoring/MetricsPanel";
import { NodeNetwork } from "../network/NodeNetwork";
import { NodeStorage } from "../storage/NodeStorage";
import { useNodeActions } from "./actions";
import { NodeCapabilitiesCard } from "./NodeCapabilitiesCard";
import { NodeConsole } from "./NodeConsole";
import { NodeHardwareCard } from "./NodeHardwareCard";
import { NodeInstances } from "./NodeInstances";
import { NodeState } from "./NodeState";
import { NodeTasks } from "./NodeTasks";

export function NodePage() {
  const { id = "" } = useParams();
  const query = useNode(id);
  if (!query.data) return <QueryState error={query.error} isPending={query.isPending} />;
  return <NodeView detail={query.data} />;
}

/** The node's series the Summary charts, in the seed's order (health, CPU, memory,
 * storage), then the rest the agent records. */
const NODE_SERIES = ["cpu", "memory", "storage", "network", "load", "disk_io"];

function NodeView({ detail }: { detail: NodeDetail }) {
  const node = detail.node;
  const actions = useNodeActions(node);
  // The instances come from the tree's cache for this node, not from `detail`: every
  // instance event refreshes that list, so the tab and the count follow deploys and
  // destroys live (GET /nodes/{id} is refreshed only by node events and node_id hints).
  const instances = useNodeInstances(node.id);
  const tree = useTree();
  const shell = useNodeConsoleAccess(node.id);
  const cluster = tree.data
    ?.find((org) => org.organization.id === node.organization_id)
    ?.clusters.find((c) => c.id === node.cluster_id);
  return (
    <ResourcePage
      kind="Node"
      title={node.name}
      status={<NodeState alive={node.alive} joining={node.joining} />}
      actions={actions.length > 0 ? <ActionsDropdown actions={actions} /> : undefined}
      basePath={paths.node(node.id)}
      tabs={[
        {
          key: "summary",
          title: "Summary",
          content: (
            <Grid hasGutter>
              <GridItem xl={6}>
                <Card isFullHeight>
                  <CardTitle>Summary</CardTitle>
                  <CardBody>
                    <Details
                      items={[
                        ["Name", node.name],
                        ["Description", node.description || "—"],
                        ["ID", node.id],
                        [
                          "Cluster",
                          <Link key="cluster" to={paths.cluster(node.cluster_id)}>
                            {cluster?.name ?? node.cluster_id}
                          </Link>,
                        ],
                        [
                          "State",
                          <NodeState key="state" alive={node.alive} joining={node.joining} />,
                        ],
                        [
                          "Health",
                          <HealthStatus
                            key="health"
                            status={node.health_status}
                            reasons={node.health_reasons}
                          />,
                        ],
                        ["License", <NodeLicense key="license" nodeId={node.id} />],
                        ["Last seen", formatTime(node.last_seen)],
                        ["Hostname", detail.hostname || "—"],
                        ["IP address", node.ip_address ?? "—"],
                        ["Instances", instances.data?.length ?? detail.instances.length],
                        ["Created", formatTime(node.creation)],
                      ]}
                    />
                  </CardBody>
                </Card>
              </GridItem>
              <GridItem xl={6}>
                <Card isFullHeight>
                  <CardTitle>System</CardTitle>
                  <CardBody>
                    <Details
                      items={[
                        ["Kernel", detail.os.kernel || "—"],
                        ["Architecture", detail.os.architecture || "—"],
                        ["Firmware", detail.os.uefi ? "UEFI" : "BIOS"],
                        ["Node time", detail.time.time ? formatUnixTime(detail.time.time) : "—"],
                        ["Time zone", detail.time.timezone || "—"],
                        ["Uptime", detail.time.uptime ? formatDuration(detail.time.uptime) : "—"],
                        ["Version", detail.pce_version || "—"],
                      ]}
                    />
                  </CardBody>
                </Card>
              </GridItem>
              <GridItem span={12}>
                <MetricsPanel owner={{ kind: "node", id: node.id }} names={NODE_SERIES} />
              </GridItem>
              <GridItem xl={6}>
                <NodeHardwareCard nodeId={node.id} />
              </GridItem>
              <GridItem xl={6}>
                <NodeCapabilitiesCard nodeId={node.id} />
              </GridItem>
              <GridItem span={12}>
                <ImagesCard nodeId={node.id} />
              </GridItem>
            </Grid>
          ),
        },
        {
          key: "instances",
          title: "Instances",
          content: instances.data ? (
            <NodeInstances instances={instances.data} />
          ) : (
            <QueryState error={instances.error} isPending={instances.isPending} />
          ),
        },
        {
          key: "storage",
          title: "Storage",
          content: <NodeStorage nodeId={node.id} />,
        },
        {
          key: "network",
          title: "Network",
          content: <NodeNetwork nodeId={node.id} />,
        },
        {
          key: "tasks",
          title: "Tasks",
          content: <NodeTasks nodeId={node.id} />,
        },
        ...(shell.data?.permitted
          ? [
              {
                key: "console",
                title: "Console",
                content: (
                  <NodeConsole
                    node={node}
                    linuxUser={shell.data.linux_user ?? null}
                    refusal={shell.data.message}
                  />
                ),
              },
            ]
          : []),
      ]}
    />
  );
}
