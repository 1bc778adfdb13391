/** The masthead's tasks indicator (the tasks drawer arrives with its own change). */
import { Button } from "@patternfly/react-core";
import { TaskIcon } from "@patternfly/react-icons";

export function TasksButton() {
  return (
    <Button variant="plain" aria-label="Tasks" icon={<TaskIcon />}>
      Tasks
    </Button>
  );
}
