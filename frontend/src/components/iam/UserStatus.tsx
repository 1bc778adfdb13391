/**
 * A user's status in the Users list: enabled, disabled, locked or expired, as the seed's
 * list shows "their roles and status". A user can be several at once (disabled and
 * expired); each is its own label, the reason a sign-in is refused first.
 */
import { Label, LabelGroup } from "@patternfly/react-core";

import type { User } from "../../api/queries";

export function userStatuses(user: User): string[] {
  const statuses: string[] = [];
  if (user.expired) statuses.push("Expired");
  if (user.locked) statuses.push("Locked");
  if (!user.enabled) statuses.push("Disabled");
  return statuses.length > 0 ? statuses : ["Enabled"];
}

const COLORS: Record<string, "green" | "red" | "orange" | "grey"> = {
  Enabled: "green",
  Expired: "orange",
  Locked: "red",
  Disabled: "grey",
};

export function UserStatus({ user }: { user: User }) {
  return (
    <LabelGroup>
      {userStatuses(user).map((status) => (
        <Label key={status} color={COLORS[status]} isCompact>
          {status}
        </Label>
      ))}
    </LabelGroup>
  );
}
