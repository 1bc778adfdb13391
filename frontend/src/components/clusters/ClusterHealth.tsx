/**
 * A cluster's health_status as a label (healthy, degraded, unhealthy, dead or unknown), and
 * its fault tolerance in words.
 */
import { Label } from "@patternfly/react-core";

const STATUS: Record<string, "success" | "warning" | "danger" | undefined> = {
  healthy: "success",
  degraded: "warning",
  unhealthy: "danger",
  dead: "danger",
};

const WORDS: Record<string, string> = {
  healthy: "Healthy",
  degraded: "Degraded",
  unhealthy: "Unhealthy",
  dead: "Dead",
  unknown: "Unknown",
};

export function ClusterHealth({ status }: { status: string }) {
  return (
    <Label isCompact status={STATUS[status]}>
      {WORDS[status] ?? status}
    </Label>
  );
}

/** The API's fault_tolerance (nodes that may fail with quorum kept) in words. */
export function faultTolerance(nodes: number): string {
  if (nodes === 0) return "None (no node may fail)";
  return `${nodes} node${nodes === 1 ? "" : "s"} may fail`;
}
