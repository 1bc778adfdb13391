/**
 * The seed's instance "Status: Connection status—Connected (green) or Disconnected (red)":
 * Connected while the instance runs and its node's agent keeps sampling it (its latest
 * sample is fresh), Disconnected otherwise: stopped, or running on a node whose agent
 * went quiet, so nothing is known of it now.
 */
import { Label, Spinner } from "@patternfly/react-core";
import { CheckCircleIcon, DisconnectedIcon } from "@patternfly/react-icons";

import { type Instance, useInstanceMetrics } from "../../api/queries";

/**
 * How old a sample may be and still count as fresh: three of the agent's 10 s passes, so
 * one slow pass on a busy node doesn't flicker the status.
 */
export const FRESH_SAMPLE_SECONDS = 30;

export function InstanceConnection({ instance }: { instance: Instance }) {
  const running = instance.state === "running";
  const sample = useInstanceMetrics(instance.id, running);
  const age = sample.data?.ageSeconds ?? null;
  const connected = running && age !== null && age <= FRESH_SAMPLE_SECONDS;
  if (running && sample.isPending) return <Spinner size="sm" aria-label="Loading the status" />;
  return connected ? (
    <Label color="green" icon={<CheckCircleIcon />} isCompact>
      Connected
    </Label>
  ) : (
    <Label color="red" icon={<DisconnectedIcon />} isCompact>
      Disconnected
    </Label>
  );
}
