/**
 * The cluster page's License Status card (seed: "Check Licensing Status"): the cluster's
 * status (valid, expiring within 30 days, expired, missing), the next expiry among its
 * nodes' keys, how many nodes hold a valid key, and the way to the Cluster tab, which
 * lists each node's.
 */
import { Alert, Card, CardBody, CardTitle, Spinner } from "@patternfly/react-core";
import { Link } from "react-router";

import { messageOf } from "../../api/errors";
import { useClusterLicensing } from "../../api/queries";
import { paths } from "../app/routes";
import { Details } from "../common/Details";
import { formatExpiry, LicensingStatusLabel } from "./LicenseStatus";

export function LicenseStatusCard({ clusterId }: { clusterId: string }) {
  const licensing = useClusterLicensing(clusterId);
  const data = licensing.data;
  const nodes = data ? Object.values(data.nodes) : [];
  return (
    <Card isFullHeight>
      <CardTitle>License Status</CardTitle>
      <CardBody>
        {data ? (
          <Details
            items={[
              ["Status", <LicensingStatusLabel key="status" status={data.cluster.status} />],
              ["Next expiry", formatExpiry(data.cluster.next_expiry)],
              ["Licensed nodes", `${nodes.filter((n) => n.ok).length} of ${nodes.length}`],
              [
                "Per node",
                <Link key="nodes" to={`${paths.cluster(clusterId)}/cluster`}>
                  View on the Cluster tab
                </Link>,
              ],
            ]}
          />
        ) : licensing.error ? (
          <Alert variant="warning" isInline isPlain title="Can't read the licensing status">
            {messageOf(licensing.error)}
          </Alert>
        ) : (
          <Spinner size="md" aria-label="Loading the licensing status" />
        )}
      </CardBody>
    </Card>
  );
}
