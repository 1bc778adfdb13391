/**
 * A toast when a task the signed-in user started fails, with the server's message, so a
 * deploy or power action that went wrong is noticed wherever the user is in the console.
 */
import { Alert, AlertActionCloseButton, AlertActionLink, AlertGroup } from "@patternfly/react-core";
import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";

import { subscribe } from "../../api/events";
import { type Task, taskQuery, useMe } from "../../api/queries";

/** Older toasts give way to newer ones beyond this; the drawer keeps them all. */
const MOST_SHOWN = 4;

export function TaskFailureAlerts({ onShowTasks }: { onShowTasks: () => void }) {
  const client = useQueryClient();
  const me = useMe();
  const userId = me.data?.id ?? null;
  const [failed, setFailed] = useState<Task[]>([]);

  useEffect(
    () =>
      subscribe((event) => {
        const id = event.target_id;
        if (event.kind !== "task.updated" || event.data?.status !== "failed" || !id) return;
        // The event says which task failed; the task says who started it and why it failed.
        client
          .fetchQuery({ ...taskQuery(id), staleTime: 0 })
          .then((task) => {
            if (userId === null || task.created_by !== userId) return;
            setFailed((shown) =>
              shown.some((t) => t.id === task.id) ? shown : [...shown, task].slice(-MOST_SHOWN),
            );
          })
          .catch(() => {
            // Gone or no longer visible: nothing to tell.
          });
      }),
    [client, userId],
  );

  const dismiss = (id: string) => setFailed((shown) => shown.filter((t) => t.id !== id));
  return (
    <AlertGroup isToast isLiveRegion>
      {failed.map((task) => (
        <Alert
          key={task.id}
          variant="danger"
          title={`Task failed: ${task.description}`}
          actionClose={<AlertActionCloseButton onClose={() => dismiss(task.id)} />}
          actionLinks={
            <AlertActionLink
              onClick={() => {
                dismiss(task.id);
                onShowTasks();
              }}
            >
              Show tasks
            </AlertActionLink>
          }
        >
          {task.target_name ? `${task.target_name}: ${task.message}` : task.message}
        </Alert>
      ))}
    </AlertGroup>
  );
}
