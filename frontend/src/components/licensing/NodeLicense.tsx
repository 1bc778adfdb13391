/** A node's licence status and expiry, in a line (the node page's Summary). */
import { Spinner } from "@patternfly/react-core";

import { useNodeLicense } from "../../api/queries";
import { formatExpiry, LicensingStatusLabel } from "./LicenseStatus";

export function NodeLicense({ nodeId }: { nodeId: string }) {
  const license = useNodeLicense(nodeId);
  if (license.error) return <>—</>;
  if (!license.data) return <Spinner size="sm" aria-label="Loading the license" />;
  const { status, expiry } = license.data;
  return (
    <>
      <LicensingStatusLabel status={status} />
      {expiry ? ` until ${formatExpiry(expiry)}` : null}
    </>
  );
}
