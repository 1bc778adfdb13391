/** An instance's state as a label: green running, grey stopped, red error, blue on the move. */
import { Label } from "@patternfly/react-core";
import {
  CheckCircleIcon,
  ExclamationCircleIcon,
  InProgressIcon,
  OffIcon,
} from "@patternfly/react-icons";
import type { ReactElement } from "react";

import { type StateColor, stateColor, stateTitle } from "./states";

const ICONS: Record<StateColor, ReactElement> = {
  green: <CheckCircleIcon />,
  red: <ExclamationCircleIcon />,
  blue: <InProgressIcon />,
  grey: <OffIcon />,
};

export function InstanceStatus({ state, isCompact }: { state: string; isCompact?: boolean }) {
  const color = stateColor(state);
  return (
    <Label color={color} icon={ICONS[color]} isCompact={isCompact}>
      {stateTitle(state)}
    </Label>
  );
}
