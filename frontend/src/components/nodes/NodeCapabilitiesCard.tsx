/**
 * What the node's hypervisor can run, per architecture (GET /nodes/{id}/capabilities), led
 * by the accelerator it uses: KVM, or TCG emulation with the reason KVM isn't used.
 */
import {
  Alert,
  Card,
  CardBody,
  CardTitle,
  Content,
  Label,
  Spinner,
  Stack,
  Title,
} from "@patternfly/react-core";

import { messageOf } from "../../api/errors";
import { type ArchCapabilities, useNodeCapabilities } from "../../api/queries";
import { type DetailItem, Details } from "../common/Details";

export function NodeCapabilitiesCard({ nodeId }: { nodeId: string }) {
  const capabilities = useNodeCapabilities(nodeId);
  const arches = Object.values(capabilities.data ?? {});
  return (
    <Card isFullHeight>
      <CardTitle>Capabilities</CardTitle>
      <CardBody>
        {capabilities.error ? (
          <Alert variant="danger" isInline isPlain title="Can't read the capabilities">
            {messageOf(capabilities.error)}
          </Alert>
        ) : !capabilities.data ? (
          <Spinner size="md" aria-label="Loading capabilities" />
        ) : arches.length === 0 ? (
          "The node's agent hasn't read its hypervisor yet."
        ) : (
          <Stack hasGutter>
            {arches.map((arch) => (
              <Arch key={arch.arch} arch={arch} showHeading={arches.length > 1} />
            ))}
          </Stack>
        )}
      </CardBody>
    </Card>
  );
}

function Accelerator({ arch }: { arch: ArchCapabilities }) {
  const accelerator = arch.accelerator ?? (arch.kvm_supported ? "kvm" : "tcg");
  const kvm = accelerator === "kvm";
  return (
    <>
      <Label isCompact status={kvm ? "success" : "warning"}>
        {kvm ? "KVM" : "TCG"}
      </Label>{" "}
      {kvm ? "hardware virtualization" : "software emulation"}
      {arch.accelerator_reason ? (
        <Content component="small">{arch.accelerator_reason}</Content>
      ) : null}
    </>
  );
}

/** Whether the node runs containers; when not, the node's reason under it. */
function Containers({ arch }: { arch: ArchCapabilities }) {
  if (arch.containers) return <>Yes</>;
  return (
    <>
      No
      {arch.containers_reason ? <Content component="small">{arch.containers_reason}</Content> : null}
    </>
  );
}

function Arch({ arch, showHeading }: { arch: ArchCapabilities; showHeading: boolean }) {
  const firmware = Object.entries(arch.firmware ?? {})
    .filter(([, loaders]) => loaders.length > 0)
    .map(([kind]) => kind.toUpperCase());
  const usableModels = (arch.cpu_models ?? []).filter((model) => !model.experimental).length;
  return (
    <div>
      {showHeading && (
        <Title headingLevel="h3" size="md">
          {arch.arch}
        </Title>
      )}
      <Details
        items={[
          ["Accelerator", <Accelerator key="accel" arch={arch} />],
          ["KVM available", arch.kvm_supported ? "Yes" : "No"],
          ["Architecture", `${arch.arch} (${arch.wordsize}-bit)`],
          ["Emulator", arch.emulator],
          ["Default machine", arch.default_machine ?? "—"],
          ["Machine types", (arch.machines ?? []).length],
          ["CPU models", `${usableModels} usable of ${(arch.cpu_models ?? []).length}`],
          ["Firmware", firmware.length ? firmware.join(", ") : "—"],
          ...(arch.containers === undefined
            ? []
            : [["Containers (LXC)", <Containers key="containers" arch={arch} />] satisfies DetailItem]),
        ]}
      />
    </div>
  );
}
