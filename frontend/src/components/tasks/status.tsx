/** How each task status looks: its word, its icon, and the drawer item's colour. */
import {
  BanIcon,
  CheckCircleIcon,
  ExclamationCircleIcon,
  InProgressIcon,
  PendingIcon,
} from "@patternfly/react-icons";
import type { ReactNode } from "react";

import type { Task } from "../../api/queries";

type Variant = "success" | "danger" | "warning" | "info" | "custom";

interface StatusLook {
  label: string;
  variant: Variant;
  icon: ReactNode;
}

/** The API's statuses (`queued, running, succeeded, failed or cancelled`), as shown. */
const LOOKS: Record<string, StatusLook> = {
  queued: { label: "Queued", variant: "custom", icon: <PendingIcon /> },
  running: { label: "Running", variant: "info", icon: <InProgressIcon /> },
  succeeded: { label: "Succeeded", variant: "success", icon: <CheckCircleIcon /> },
  failed: { label: "Failed", variant: "danger", icon: <ExclamationCircleIcon /> },
  cancelled: { label: "Cancelled", variant: "warning", icon: <BanIcon /> },
};

export function statusLook(status: string): StatusLook {
  // A status a newer server added: its own word, no colour, rather than a blank.
  return LOOKS[status] ?? { label: status, variant: "custom", icon: <PendingIcon /> };
}

/** Tasks still to finish: what the masthead's badge counts. */
export function isActive(task: Task): boolean {
  return task.status === "queued" || task.status === "running";
}

export function activeCount(tasks: Task[] | undefined): number {
  return tasks?.filter(isActive).length ?? 0;
}
