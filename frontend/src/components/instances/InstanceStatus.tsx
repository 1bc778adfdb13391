/** An instance's state as a label: green running, grey stopped, red error, blue on the move. */
import { Label } from "@patternfly/react-core";
import {
  CheckCircleIcon,
  ExclamationCircleIcon,
  InProgressIcon,
  OffIcon,
} from "@patternfly/react-icons";

import { isTransient, stateTitle } from "./states";

export function InstanceStatus({ state }: { state: string }) {
  if (state === "running") {
    return (
      <Label color="green" icon={<CheckCircleIcon />}>
        {stateTitle(state)}
      </Label>
    );
  }
  if (state === "error") {
    return (
      <Label color="red" icon={<ExclamationCircleIcon />}>
        {stateTitle(state)}
      </Label>
    );
  }
  if (isTransient(state)) {
    return (
      <Label color="blue" icon={<InProgressIcon />}>
        {stateTitle(state)}
      </Label>
    );
  }
  return (
    <Label color="grey" icon={<OffIcon />}>
      {stateTitle(state)}
    </Label>
  );
}
