/**
 * A node's NICs (seed: "Viewing Available NICs on a Node"): as the node's agent last read
 * them, each with its link, speed, driver, the vSwitch it is an uplink of, and whether it
 * is unused (free to become an uplink: in no vSwitch, and carrying no address of the node).
 * A misconfigured uplink (link down, MTU below its vSwitch's, ...) says why on hover.
 */
import { EmptyState, EmptyStateBody, Label, Tooltip } from "@patternfly/react-core";
import { Table, Tbody, Td, Th, Thead, Tr } from "@patternfly/react-table";

import { useNodeNics } from "../../api/queries";
import { QueryState } from "../common/ResourcePage";

export function formatSpeed(speed: number | null): string {
  if (!speed || speed <= 0) return "—";
  return speed >= 1000 && speed % 1000 === 0 ? `${speed / 1000} Gbit/s` : `${speed} Mbit/s`;
}

export function NodeNics({ nodeId }: { nodeId: string }) {
  const nics = useNodeNics(nodeId);
  if (!nics.data) return <QueryState error={nics.error} isPending={nics.isPending} />;
  if (nics.data.length === 0) {
    return (
      <EmptyState titleText="No NICs" headingLevel="h4">
        <EmptyStateBody>The node&apos;s agent has reported no network interface yet.</EmptyStateBody>
      </EmptyState>
    );
  }
  return (
    <Table aria-label="NICs" variant="compact">
      <Thead>
        <Tr>
          <Th>Name</Th>
          <Th>MAC</Th>
          <Th>MTU</Th>
          <Th>Speed</Th>
          <Th>Link</Th>
          <Th>Driver</Th>
          <Th>vSwitch</Th>
          <Th modifier="nowrap">Unused</Th>
        </Tr>
      </Thead>
      <Tbody>
        {nics.data.map((nic) => (
          <Tr key={nic.name}>
            <Td dataLabel="Name">
              {nic.name}
              {nic.misconfigured ? (
                <Tooltip content={nic.reason || "Misconfigured"}>
                  <Label color="orange" isCompact className="pf-v6-u-ml-sm" tabIndex={0}>
                    Misconfigured
                  </Label>
                </Tooltip>
              ) : null}
            </Td>
            <Td dataLabel="MAC">{nic.mac || "—"}</Td>
            <Td dataLabel="MTU">{nic.mtu}</Td>
            <Td dataLabel="Speed">{formatSpeed(nic.speed)}</Td>
            <Td dataLabel="Link">
              {nic.link ? (
                <Label color="green" isCompact>
                  Up
                </Label>
              ) : (
                <Label isCompact>Down</Label>
              )}
            </Td>
            <Td dataLabel="Driver">{nic.driver || "—"}</Td>
            <Td dataLabel="vSwitch">{nic.vswitch ?? "—"}</Td>
            <Td dataLabel="Unused">{nic.unused ? "Yes" : "No"}</Td>
          </Tr>
        ))}
      </Tbody>
    </Table>
  );
}
