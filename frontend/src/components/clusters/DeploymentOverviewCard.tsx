/**
 * The seed's Deployment Overview of a cluster: CPU, memory and storage in use (GET
 * /clusters/{id}/metrics: shares of what the nodes have, from their newest samples) against
 * the totals the nodes' hardware adds up to (GET /clusters/{id}/hardware: total vCPUs,
 * memory and storage), how long the cluster has been deployed, and its mode (standalone or
 * clustered).
 */
import {
  Alert,
  Card,
  CardBody,
  CardTitle,
  Progress,
  ProgressMeasureLocation,
  ProgressSize,
  Spinner,
  Stack,
  StackItem,
} from "@patternfly/react-core";

import { messageOf } from "../../api/errors";
import { type ClusterFull, type ClusterHardware, useClusterHardware, useClusterMetrics } from "../../api/queries";
import { Details } from "../common/Details";
import { formatDuration } from "../common/format";
import { useNow } from "../common/useNow";

function UsageBar({ title, percent, of }: { title: string; percent: number; of: string | null }) {
  const share = Math.max(0, Math.min(100, percent));
  const text = `${share.toFixed(share < 10 ? 1 : 0)} %${of ? ` of ${of}` : ""}`;
  return (
    <Progress
      title={title}
      value={share}
      size={ProgressSize.sm}
      measureLocation={ProgressMeasureLocation.outside}
      label={text}
      valueText={text}
      variant={share >= 90 ? "danger" : share >= 75 ? "warning" : undefined}
    />
  );
}

function ClusterUsage({ clusterId, hardware }: { clusterId: string; hardware?: ClusterHardware }) {
  const metrics = useClusterMetrics(clusterId);
  if (metrics.error && !metrics.data) {
    return (
      <Alert variant="warning" isInline isPlain title="Can't read the cluster's usage">
        {messageOf(metrics.error)}
      </Alert>
    );
  }
  if (!metrics.data) return <Spinner size="md" aria-label="Loading usage" />;
  const { total, partial, nodes } = metrics.data;
  return (
    <Stack hasGutter>
      <StackItem>
        <UsageBar title="CPU" percent={total.cpu} of={hardware ? `${hardware.vcpus} vCPUs` : null} />
      </StackItem>
      <StackItem>
        <UsageBar title="Memory" percent={total.memory} of={hardware ? `${hardware.memory_gb} GB` : null} />
      </StackItem>
      <StackItem>
        <UsageBar title="Storage" percent={total.storage} of={hardware ? `${hardware.storage_gb} GB` : null} />
      </StackItem>
      {partial ? (
        <StackItem>
          <Alert variant="warning" isInline isPlain title="Partial usage">
            {nodes.length === 0
              ? "No node of the cluster sent a recent sample."
              : "Some nodes sent no recent sample, so these figures leave them out."}
          </Alert>
        </StackItem>
      ) : null}
    </Stack>
  );
}

export function DeploymentOverviewCard({ cluster }: { cluster: ClusterFull }) {
  const hardware = useClusterHardware(cluster.id);
  const now = useNow(60_000);
  const since = Date.parse(cluster.creation);
  const facts = hardware.data;
  return (
    <Card isFullHeight>
      <CardTitle>Deployment Overview</CardTitle>
      <CardBody>
        <Stack hasGutter>
          <StackItem>
            <ClusterUsage clusterId={cluster.id} hardware={hardware.data} />
          </StackItem>
          <StackItem>
            <Details
              items={[
                ["Total vCPUs", facts ? facts.vcpus : hardware.error ? "—" : "…"],
                ["Total memory", facts ? `${facts.memory_gb} GB` : hardware.error ? "—" : "…"],
                ["Total storage", facts ? `${facts.storage_gb} GB` : hardware.error ? "—" : "…"],
                [
                  "Deployment duration",
                  Number.isNaN(since) ? "—" : formatDuration(Math.max(0, (now - since) / 1000)),
                ],
                [
                  "Cluster mode",
                  cluster.standalone ? "Standalone" : `Clustered (${cluster.node_count} nodes)`,
                ],
              ]}
            />
          </StackItem>
          {facts?.partial ? (
            <StackItem>
              <Alert variant="warning" isInline isPlain title="Partial totals">
                Some nodes&apos; hardware facts are missing or stale, so these totals may be low.
              </Alert>
            </StackItem>
          ) : null}
          {hardware.error ? (
            <StackItem>
              <Alert variant="danger" isInline isPlain title="Can't read the hardware totals">
                {messageOf(hardware.error)}
              </Alert>
            </StackItem>
          ) : null}
        </Stack>
      </CardBody>
    </Card>
  );
}
