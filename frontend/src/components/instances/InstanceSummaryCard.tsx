/**
 * The Summary tab: the seed's instance-level monitoring (Name, Status Connected or
 * Disconnected, Memory Allocated, Instance Type, Deployment Duration) with the rest of what
 * the instance is (state, vCPUs, node, ...), the task working on it now with its progress,
 * and its CPU, memory and network charts over a chosen range.
 */
import {
  Card,
  CardBody,
  CardTitle,
  Content,
  Flex,
  FlexItem,
  Gallery,
  Progress,
  ProgressSize,
  Stack,
} from "@patternfly/react-core";
import { Link } from "react-router";

import { type Instance, useNode, useTask } from "../../api/queries";
import { paths } from "../app/routes";
import { Details } from "../common/Details";
import { useNow } from "../common/useNow";
import { MetricsPanel } from "../monitoring/MetricsPanel";
import { statusLook } from "../tasks/status";
import { InstanceConnection } from "./InstanceConnection";
import { InstanceStatus } from "./InstanceStatus";
import { typeTitle } from "./states";

/** "2048 MB (2 GB)"; the API counts memory in MB (MiB, as libvirt does). */
export function formatMemory(mb: number): string {
  if (mb >= 1024 && mb % 1024 === 0) return `${mb} MB (${mb / 1024} GB)`;
  if (mb >= 1024) return `${mb} MB (${(mb / 1024).toFixed(1)} GB)`;
  return `${mb} MB`;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

export function formatTopology(cpu: Instance["cpu"]): string {
  return `${plural(cpu.sockets, "socket")} × ${plural(cpu.cores, "core")} × ${plural(cpu.threads, "thread")}`;
}

/** A length of time in the two largest units: "3 days 4 hours", "12 minutes". */
export function formatDuration(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return "less than a minute";
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const mins = minutes % 60;
  if (days > 0) return hours > 0 ? `${plural(days, "day")} ${plural(hours, "hour")}` : plural(days, "day");
  if (hours > 0) return mins > 0 ? `${plural(hours, "hour")} ${plural(mins, "minute")}` : plural(hours, "hour");
  return plural(mins, "minute");
}

export function formatTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

function DeploymentDuration({ instance }: { instance: Instance }) {
  const now = useNow(30_000);
  if (instance.state === "creating") return <>Being deployed</>;
  const since = Date.parse(instance.creation);
  if (Number.isNaN(since)) return null;
  return <>{formatDuration(Math.max(0, now - since))}</>;
}

/** The task holding the instance, with its progress; the feed moves it along. */
export function CurrentTask({ taskId }: { taskId: string | null }) {
  const task = useTask(taskId);
  if (!taskId) return <>None</>;
  if (!task.data) return <>{taskId}</>;
  return (
    <Progress
      value={task.data.progress}
      title={`${task.data.description} (${statusLook(task.data.status).label.toLowerCase()})`}
      size={ProgressSize.sm}
      aria-label={`Task ${task.data.description}`}
    />
  );
}

/** The instance's series the Summary charts. */
const INSTANCE_SERIES = ["cpu", "memory", "network"];

export function InstanceSummaryCard({ instance }: { instance: Instance }) {
  const node = useNode(instance.node_id);
  return (
    <Stack hasGutter>
      <Gallery hasGutter minWidths={{ default: "100%", xl: "48%" }}>
        <Card>
          <CardTitle>Summary</CardTitle>
          <CardBody>
            <Details
              items={[
                ["Name", instance.name],
                ["Status", <InstanceConnection key="connection" instance={instance} />],
                [
                  "State",
                  <Flex
                    key="state"
                    direction={{ default: "column" }}
                    spaceItems={{ default: "spaceItemsXs" }}
                  >
                    <FlexItem>
                      <InstanceStatus state={instance.state} isCompact />
                    </FlexItem>
                    {instance.state_message ? (
                      <FlexItem>
                        <Content component="small">{instance.state_message}</Content>
                      </FlexItem>
                    ) : null}
                  </Flex>,
                ],
                ["Memory Allocated", formatMemory(instance.memory)],
                ["Instance Type", typeTitle(instance.type)],
                [
                  "Deployment Duration",
                  <DeploymentDuration key="duration" instance={instance} />,
                ],
                ["vCPUs", `${instance.vcpus} (${formatTopology(instance.cpu)})`],
                [
                  "Node",
                  <Link key="node" to={paths.node(instance.node_id)}>
                    {node.data?.node.name ?? instance.node_id}
                  </Link>,
                ],
                ["Description", instance.description || "—"],
                ["Autostart", instance.autostart ? "Yes" : "No"],
              ]}
            />
          </CardBody>
        </Card>
        <Card>
          <CardTitle>Deployment</CardTitle>
          <CardBody>
            <Details
              items={[
                ["Creation", formatTime(instance.creation)],
                ["Current task", <CurrentTask key="task" taskId={instance.current_task_id} />],
                ["ID", instance.id],
              ]}
            />
          </CardBody>
        </Card>
      </Gallery>
      <MetricsPanel owner={{ kind: "instance", id: instance.id }} names={INSTANCE_SERIES} />
    </Stack>
  );
}
