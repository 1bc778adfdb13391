/**
 * A node's tasks (GET /nodes/{id}/tasks) with status, progress and the server's message, so
 * a failed task says why without opening logs. Task events refresh the list live.
 */
import {
  Alert,
  Label,
  Progress,
  ProgressMeasureLocation,
  ProgressVariant,
  Spinner,
} from "@patternfly/react-core";
import { Table, Tbody, Td, Th, Thead, Tr } from "@patternfly/react-table";
import { Link } from "react-router";

import { messageOf } from "../../api/errors";
import { type NodeTask, useNodeTasks } from "../../api/queries";
import { paths } from "../app/routes";
import { formatTime } from "../common/format";
import "./NodeTasks.css";

const STATUS: Record<string, "success" | "danger" | "info" | undefined> = {
  succeeded: "success",
  failed: "danger",
  running: "info",
};

function progressVariant(status: string): ProgressVariant | undefined {
  if (status === "succeeded") return ProgressVariant.success;
  if (status === "failed") return ProgressVariant.danger;
  return undefined;
}

/** What a task acted on: this node, or an instance (linked to its page). */
function Target({ task, nodeId }: { task: NodeTask; nodeId: string }) {
  if (!task.instance_id) return <>—</>;
  if (task.instance_id === nodeId) return <>This node</>;
  if (task.instance_id.startsWith("inst-")) {
    return <Link to={paths.instance(task.instance_id)}>{task.instance_id}</Link>;
  }
  return <>{task.instance_id}</>;
}

export function NodeTasks({ nodeId }: { nodeId: string }) {
  const tasks = useNodeTasks(nodeId);
  if (tasks.error) {
    return (
      <Alert variant="danger" isInline title="Can't read the node's tasks">
        {messageOf(tasks.error)}
      </Alert>
    );
  }
  if (!tasks.data) return <Spinner size="lg" aria-label="Loading tasks" />;
  if (tasks.data.length === 0) return <>This node has run no tasks.</>;
  return (
    <Table aria-label="Tasks" variant="compact">
      <Thead>
        <Tr>
          <Th>Task</Th>
          <Th>Status</Th>
          <Th className="ce-task-progress" modifier="wrap">
            Progress
          </Th>
          <Th className="ce-task-message" modifier="wrap">
            Message
          </Th>
          <Th>Target</Th>
          <Th>Started</Th>
          <Th>Ended</Th>
        </Tr>
      </Thead>
      <Tbody>
        {tasks.data.map((task) => (
          <Tr key={task.id}>
            <Td dataLabel="Task">{task.type}</Td>
            <Td dataLabel="Status">
              <Label isCompact status={STATUS[task.status]}>
                {task.status.charAt(0).toUpperCase() + task.status.slice(1)}
              </Label>
            </Td>
            <Td dataLabel="Progress" className="ce-task-progress">
              <Progress
                value={task.progress}
                size="sm"
                measureLocation={ProgressMeasureLocation.outside}
                variant={progressVariant(task.status)}
                aria-label={`Progress of ${task.type}`}
              />
            </Td>
            <Td dataLabel="Message" modifier="breakWord" className="ce-task-message">
              {task.message || "—"}
            </Td>
            <Td dataLabel="Target">
              <Target task={task} nodeId={nodeId} />
            </Td>
            <Td dataLabel="Started">{formatTime(task.start_time)}</Td>
            <Td dataLabel="Ended">{formatTime(task.end_time)}</Td>
          </Tr>
        ))}
      </Tbody>
    </Table>
  );
}
