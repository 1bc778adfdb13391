/**
 * What the deploy dialog shows once the server has accepted the deploy: the task's
 * progress as the event feed updates it, then its result, with the server's message when
 * it failed (a failed deploy's message says why, without opening logs).
 */
import {
  Alert,
  Button,
  Modal,
  ModalBody,
  ModalFooter,
  ModalHeader,
  ModalVariant,
  Progress,
  ProgressMeasureLocation,
  ProgressVariant,
} from "@patternfly/react-core";
import { useId } from "react";

import { messageOf } from "../../api/errors";
import { useTask } from "../../api/queries";

const DONE = new Set(["succeeded", "failed", "cancelled"]);

export function DeployProgress({
  taskId,
  name,
  onClose,
}: {
  taskId: string;
  name: string;
  onClose: () => void;
}) {
  const titleId = useId();
  const task = useTask(taskId);
  const status = task.data?.status ?? "queued";
  const variant =
    status === "succeeded"
      ? ProgressVariant.success
      : status === "failed" || status === "cancelled"
        ? ProgressVariant.danger
        : undefined;
  return (
    <Modal isOpen variant={ModalVariant.small} onClose={onClose} aria-labelledby={titleId}>
      <ModalHeader title={`Deploying ${name}`} labelId={titleId} />
      <ModalBody>
        <Progress
          value={status === "succeeded" ? 100 : (task.data?.progress ?? 0)}
          title={`Task ${status}`}
          measureLocation={ProgressMeasureLocation.outside}
          variant={variant}
          aria-label="Deploy progress"
        />
        {status === "succeeded" && (
          <Alert variant="success" isInline title={`Instance ${name} is deployed`} className="pf-v6-u-mt-md" />
        )}
        {(status === "failed" || status === "cancelled") && (
          <Alert variant="danger" isInline title="The deploy failed" className="pf-v6-u-mt-md">
            {task.data?.message}
          </Alert>
        )}
        {task.error ? (
          <Alert variant="warning" isInline title="Can't follow the task" className="pf-v6-u-mt-md">
            {messageOf(task.error)}
          </Alert>
        ) : null}
      </ModalBody>
      <ModalFooter>
        <Button variant={DONE.has(status) ? "primary" : "secondary"} onClick={onClose}>
          Close
        </Button>
      </ModalFooter>
    </Modal>
  );
}
