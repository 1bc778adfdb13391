/** A vSwitch's state on its node (as its agent last applied it to Open vSwitch). */
import { Label, Popover, Spinner } from "@patternfly/react-core";

export function SwitchStatus({ status, message }: { status: string; message: string }) {
  if (status === "ready") {
    return (
      <Label color="green" isCompact>
        Ready
      </Label>
    );
  }
  if (status === "error") {
    // The reason can be long (OVS's own words): a click shows it.
    return (
      <Popover bodyContent={message || "The node could not apply it."} aria-label="Why it failed">
        <Label color="red" isCompact onClick={() => undefined}>
          Error
        </Label>
      </Popover>
    );
  }
  if (status === "pending") {
    return (
      <Label color="blue" isCompact icon={<Spinner size="sm" aria-hidden />}>
        Pending
      </Label>
    );
  }
  return <Label isCompact>{status}</Label>;
}
