/**
 * The masthead's tasks indicator: "Tasks" with a badge counting the tasks still queued or
 * running; it opens and closes the tasks drawer. The count follows the event feed.
 */
import { Button } from "@patternfly/react-core";
import { TaskIcon } from "@patternfly/react-icons";
import { useId } from "react";

import { useTasks } from "../../api/queries";
import { activeCount } from "./status";

export function TasksButton({
  isExpanded,
  onToggle,
}: {
  isExpanded: boolean;
  onToggle: () => void;
}) {
  const tasks = useTasks();
  const active = activeCount(tasks.data);
  const countId = useId();
  return (
    <>
      <Button
        variant="plain"
        aria-label="Tasks"
        aria-expanded={isExpanded}
        aria-describedby={countId}
        icon={<TaskIcon />}
        countOptions={active > 0 ? { count: active, isRead: false } : undefined}
        onClick={onToggle}
      >
        Tasks
      </Button>
      {/* The badge is drawn, not spoken: its meaning, for screen readers. */}
      <span id={countId} className="pf-v6-screen-reader">
        {active === 1 ? "1 task running or queued" : `${active} tasks running or queued`}
      </span>
    </>
  );
}
