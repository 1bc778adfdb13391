/** The instances on a node, each linking to its page. Read from the same cache as the
 * tree's node (`useNodeInstances`), which every instance event refreshes, so the list
 * follows deploys, state changes and destroys live. */
import { Table, Tbody, Td, Th, Thead, Tr } from "@patternfly/react-table";
import { Link } from "react-router";

import type { Instance } from "../../api/queries";
import { paths } from "../app/routes";
import { formatMegabytes } from "../common/format";
import { InstanceStatus } from "../instances/InstanceStatus";
import { typeTitle } from "../instances/states";

export function NodeInstances({ instances }: { instances: Instance[] }) {
  if (instances.length === 0) return <>No instances run on this node.</>;
  return (
    <Table aria-label="Instances" variant="compact">
      <Thead>
        <Tr>
          <Th>Name</Th>
          <Th>Type</Th>
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
            <Td dataLabel="Type">{typeTitle(instance.type)}</Td>
            <Td dataLabel="State">
              <InstanceStatus state={instance.state} isCompact />
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
