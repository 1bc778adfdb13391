/** A volume's status as a label; a spinner while a task moves it (creating, resizing, ...). */
import { Label, Spinner } from "@patternfly/react-core";

import { isVolumeBusy, VOLUME_STATUS, volumeStatusTitle } from "./poolTypes";

export function VolumeStatus({ status }: { status: number }) {
  const title = volumeStatusTitle(status);
  if (status === VOLUME_STATUS.available) {
    return (
      <Label color="green" isCompact>
        {title}
      </Label>
    );
  }
  if (status === VOLUME_STATUS.error) {
    return (
      <Label color="red" isCompact>
        {title}
      </Label>
    );
  }
  if (isVolumeBusy(status)) {
    return (
      <Label color="blue" isCompact icon={<Spinner size="sm" aria-hidden />}>
        {title}
      </Label>
    );
  }
  return <Label isCompact>{title}</Label>;
}
