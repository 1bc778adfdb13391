/**
 * A licensing status as a label: a cluster's or one node's key (valid, expiring within 30
 * days, expired, missing). cloudenv works without a key; these say what the deployment's
 * keys are, for those who track entitlements.
 */
import { Label } from "@patternfly/react-core";
import {
  CheckCircleIcon,
  ExclamationCircleIcon,
  ExclamationTriangleIcon,
  MinusCircleIcon,
} from "@patternfly/react-icons";

import type { LicensingStatus } from "../../api/queries";
import { formatTime } from "../common/format";

const CLUSTER: Record<LicensingStatus, { text: string; color: "green" | "orange" | "red" | "grey" }> = {
  valid: { text: "Valid", color: "green" },
  expiring: { text: "Expiring", color: "orange" },
  expired: { text: "Expired", color: "red" },
  missing: { text: "Missing", color: "grey" },
};

const ICONS = {
  green: <CheckCircleIcon />,
  orange: <ExclamationTriangleIcon />,
  red: <ExclamationCircleIcon />,
  grey: <MinusCircleIcon />,
};

export function LicensingStatusLabel({ status }: { status: LicensingStatus }) {
  const look = CLUSTER[status] ?? { text: status, color: "grey" as const };
  return (
    <Label color={look.color} icon={ICONS[look.color]} isCompact>
      {look.text}
    </Label>
  );
}

/** When a key expires, or that it doesn't. */
export function formatExpiry(expiry: string | null | undefined): string {
  return expiry ? formatTime(expiry) : "—";
}
