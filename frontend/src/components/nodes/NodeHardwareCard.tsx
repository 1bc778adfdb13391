/** A node's hardware as its agent read it (GET /nodes/{id}/hardware). */
import { Alert, Card, CardBody, CardTitle, Spinner, Stack, Title } from "@patternfly/react-core";
import { Table, Tbody, Td, Th, Thead, Tr } from "@patternfly/react-table";

import { messageOf } from "../../api/errors";
import { type NodeHardware, useNodeHardware } from "../../api/queries";
import { Details } from "../common/Details";
import { formatMegabytes } from "../common/format";

export function NodeHardwareCard({ nodeId }: { nodeId: string }) {
  const hardware = useNodeHardware(nodeId);
  return (
    <Card isFullHeight>
      <CardTitle>Hardware</CardTitle>
      <CardBody>
        {hardware.data ? (
          <HardwareDetails hardware={hardware.data} />
        ) : hardware.error ? (
          <Alert variant="danger" isInline isPlain title="Can't read the hardware">
            {messageOf(hardware.error)}
          </Alert>
        ) : (
          <Spinner size="md" aria-label="Loading hardware" />
        )}
      </CardBody>
    </Card>
  );
}

function HardwareDetails({ hardware }: { hardware: NodeHardware }) {
  const cpu = hardware.cpu;
  const banks = hardware.memory.filter((bank) => !bank.empty);
  const memoryMb = banks.reduce((sum, bank) => sum + bank.data.size, 0);
  return (
    <Stack hasGutter>
      <Details
        items={[
          ["CPU", cpu.brand || cpu.manufacturer || "—"],
          [
            "Topology",
            `${cpu.sockets} socket${cpu.sockets === 1 ? "" : "s"}, ${cpu.cores.physical} cores, ${cpu.processors} threads`,
          ],
          ["vCPUs", hardware.vcpus],
          ["Speed", cpu.speed.current ? `${cpu.speed.current.toFixed(2)} GHz` : "—"],
          [
            "Virtualization",
            cpu.virtualization ? "VT-x or AMD-V present" : "Not available to this host",
          ],
          [
            "Memory",
            memoryMb
              ? `${formatMegabytes(memoryMb)} in ${banks.length} bank${banks.length === 1 ? "" : "s"}`
              : "—",
          ],
          ["USB devices", hardware.usb.length],
        ]}
      />
      <Title headingLevel="h3" size="md">
        Disks
      </Title>
      {hardware.disks.length === 0 ? (
        <span>No disks reported.</span>
      ) : (
        // Headers unclipped: PatternFly truncates a header to its column, and this card is
        // half the page wide at 1280 px ("Interf...").
        <Table aria-label="Disks" variant="compact">
          <Thead>
            <Tr>
              <Th modifier="nowrap">Device</Th>
              <Th modifier="nowrap">Size</Th>
              <Th modifier="nowrap">Interface</Th>
              <Th modifier="nowrap">SMART</Th>
            </Tr>
          </Thead>
          <Tbody>
            {hardware.disks.map((disk) => (
              <Tr key={disk.device}>
                <Td dataLabel="Device">{disk.device}</Td>
                <Td dataLabel="Size">{`${disk.size.toFixed(1)} GB`}</Td>
                <Td dataLabel="Interface">{disk.interface || "—"}</Td>
                <Td dataLabel="SMART">{disk.smart_status || "—"}</Td>
              </Tr>
            ))}
          </Tbody>
        </Table>
      )}
    </Stack>
  );
}
