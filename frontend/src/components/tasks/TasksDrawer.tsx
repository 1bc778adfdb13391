/**
 * The tasks drawer: the newest tasks the user may see, live (the event feed invalidates
 * them on every task event). Each shows what it does in words (the server's description
 * of its kind), its target, its status with an icon, a progress bar while it runs, when
 * it was queued, started and ended, and the server's message, so a failed task's reason
 * is readable here without opening logs. A queued task can be cancelled.
 */
import {
  Alert,
  Button,
  EmptyState,
  EmptyStateBody,
  NotificationDrawer,
  NotificationDrawerBody,
  NotificationDrawerHeader,
  NotificationDrawerList,
  NotificationDrawerListItem,
  NotificationDrawerListItemBody,
  NotificationDrawerListItemHeader,
  Progress,
  ProgressMeasureLocation,
  ProgressSize,
  Spinner,
} from "@patternfly/react-core";
import { TaskIcon } from "@patternfly/react-icons";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Link } from "react-router";

import { api, unwrap } from "../../api/client";
import { messageOf } from "../../api/errors";
import { keys, type Task, useTasks } from "../../api/queries";
import { paths } from "../app/routes";
import { activeCount, statusLook } from "./status";

export function TasksDrawer({ onClose }: { onClose: () => void }) {
  const tasks = useTasks();
  const active = activeCount(tasks.data);
  return (
    <NotificationDrawer aria-label="Tasks">
      <NotificationDrawerHeader
        title="Tasks"
        count={active}
        customText={active === 1 ? "1 running or queued" : `${active} running or queued`}
        onClose={onClose}
        closeButtonAriaLabel="Close tasks"
      />
      <NotificationDrawerBody>
        {tasks.isPending ? (
          <Spinner size="lg" aria-label="Loading tasks" />
        ) : tasks.isError ? (
          <Alert variant="danger" isInline isPlain title={messageOf(tasks.error)} />
        ) : tasks.data.length === 0 ? (
          <EmptyState titleText="No tasks yet" headingLevel="h3" icon={TaskIcon}>
            <EmptyStateBody>
              Deploying, powering and destroying instances, snapshots and image uploads run as
              tasks; they appear here as they start.
            </EmptyStateBody>
          </EmptyState>
        ) : (
          <NotificationDrawerList aria-label="Recent tasks">
            {tasks.data.map((task) => (
              <TaskItem key={task.id} task={task} />
            ))}
          </NotificationDrawerList>
        )}
      </NotificationDrawerBody>
    </NotificationDrawer>
  );
}

function TaskItem({ task }: { task: Task }) {
  const look = statusLook(task.status);
  const client = useQueryClient();
  const cancel = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST("/api/v1/tasks/{task_id}/cancel", {
          params: { path: { task_id: task.id } },
        }),
      ),
    onSettled: () => client.invalidateQueries({ queryKey: keys.tasks }),
  });
  const running = task.status === "running";
  const message = shownMessage(task);
  return (
    <NotificationDrawerListItem
      variant={look.variant}
      isRead
      isHoverable={false}
      aria-label={`${task.description} ${look.label}`}
    >
      <NotificationDrawerListItemHeader
        title={task.description}
        variant={look.variant}
        icon={look.icon}
        srTitle={`${look.label}:`}
        headingLevel="h3"
      >
        {task.status === "queued" && (
          <Button
            variant="link"
            isInline
            isDisabled={cancel.isPending}
            isLoading={cancel.isPending}
            onClick={() => cancel.mutate()}
          >
            Cancel
          </Button>
        )}
      </NotificationDrawerListItemHeader>
      <NotificationDrawerListItemBody timestamp={<TaskTimes task={task} />}>
        <div className="ce-task-line">
          <span className="ce-task-status">{look.label}</span>
          <TaskTarget task={task} />
        </div>
        {running && (
          <Progress
            value={task.progress}
            size={ProgressSize.sm}
            measureLocation={ProgressMeasureLocation.outside}
            aria-label={`Progress of ${task.description}`}
          />
        )}
        {message && (
          <p className={`ce-task-message${task.status === "failed" ? " ce-task-failed" : ""}`}>
            {message}
          </p>
        )}
        {cancel.isError && (
          <p className="ce-task-message ce-task-failed" role="alert">
            {messageOf(cancel.error)}
          </p>
        )}
      </NotificationDrawerListItemBody>
    </NotificationDrawerListItem>
  );
}

/**
 * The server's words for where the task stands: its message once it has failed or been
 * cancelled (why), else the newest line of its log while it runs (what it is doing).
 */
function shownMessage(task: Task): string {
  if (task.message) return task.message;
  if (task.status !== "running") return "";
  const last = task.log[task.log.length - 1];
  return typeof last?.message === "string" ? last.message : "";
}

/** What the task works on: a link to its page when it is an instance or node still there. */
function TaskTarget({ task }: { task: Task }) {
  const id = task.target_id;
  if (!id) return null;
  const name = task.target_name ?? id;
  const to = pageOf(id);
  return (
    <span className="ce-task-target">
      {to && task.target_name ? <Link to={to}>{name}</Link> : name}
    </span>
  );
}

/** The page of an object by its ID's prefix (`ids.py`): instances and nodes have one. */
function pageOf(id: string): string | null {
  if (id.startsWith("inst-")) return paths.instance(id);
  if (id.startsWith("node-")) return paths.node(id);
  return null;
}

function TaskTimes({ task }: { task: Task }) {
  return (
    <span className="ce-task-times">
      {task.start_time ? (
        <When label="Started" iso={task.start_time} />
      ) : (
        <When label="Queued" iso={task.creation} />
      )}
      {task.end_time && <When label="Ended" iso={task.end_time} />}
    </span>
  );
}

function When({ label, iso }: { label: string; iso: string }) {
  const time = new Date(iso);
  const today = time.toDateString() === new Date().toDateString();
  return (
    <span>
      {label}{" "}
      <time dateTime={iso}>{today ? time.toLocaleTimeString() : time.toLocaleString()}</time>
    </span>
  );
}
