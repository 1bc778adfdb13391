/** The instances on a node (as GET /nodes/{id} lists them), each linking to its page. */
import { Label } from "@patternfly/react-core";
import { Table, Tbody, Td, Th, Thead, Tr } from "@patternfly/react-table";
import { Link } from "react-router";

import type { Instance } from "../../api/queries";
import { paths } from "../app/routes";
import { formatMegabytes } from "../common/format";

const STATE: Record<string, "success" | "danger" | "info" | undefined> = {
  running: "success",
  error: "danger",
  creating: "info",
  starting: "info",
  stopping: "info",
  restarting: "info",
  destroying: "info",
};

export function NodeInstances({ instances }: { instances: Instance[] }) {
  if (instances.length === 0) return <>No instances run on this node.</>;
  return (
    <Table aria-label="Instances" variant="compact">
      <Thead>
        <Tr>
          <Th>Name</Th>
          <Th>State</Th>
          <Th>vCPUs</Th>
          <Th>Memory</Th>
          <Th>Description</Th>
        </Tr>
      </Thead>
      <Tbody>
        {instances.map((instance) => (
          <Tr key={instance.id}>
            <Td dataLabel="Name">
              <Link to={paths.instance(instance.id)}>{instance.name}</Link>
            </Td>
            <Td dataLabel="State">
              <Label isCompact status={STATE[instance.state]}>
                {instance.state.charAt(0).toUpperCase() + instance.state.slice(1)}
              </Label>
            </Td>
            <Td dataLabel="vCPUs">{instance.vcpus}</Td>
            <Td dataLabel="Memory">{formatMegabytes(instance.memory)}</Td>
            <Td dataLabel="Description">{instance.description || "—"}</Td>
          </Tr>
        ))}
      </Tbody>
    </Table>
  );
}
