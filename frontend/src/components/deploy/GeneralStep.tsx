/**
 * The wizard's first step, the seed's "general instance information": what is deployed (a
 * virtual machine or a container: the seed's "Deploy a new instance (VM or container)"),
 * name, description, CPU topology, memory and autostart; then for a VM its firmware, machine
 * type and CPU model, for a container its image, init and privilege (ContainerFields). The
 * choices of firmware, machine type and CPU model come from the node's capabilities (what
 * its hypervisor reported), so the list only offers what this node can run.
 */
import {
  Checkbox,
  Form,
  FormGroup,
  FormSelect,
  FormSelectOption,
  FormSelectOptionGroup,
  Grid,
  GridItem,
  Radio,
  TextArea,
  TextInput,
} from "@patternfly/react-core";

import type { ArchCapabilities, Image, NodePool } from "../../api/queries";
import { ContainerFields } from "./ContainerFields";
import { FieldMessage, type FieldErrors, validatedOf } from "./FieldMessage";
import { type DeployForm, type InstanceKind, kindTitle, withKind } from "./form";

interface Props {
  form: DeployForm;
  update: (change: Partial<DeployForm>) => void;
  errors: FieldErrors;
  capabilities: ArchCapabilities | undefined;
  /** The node's images (a container's come from here); undefined while they load. */
  images: Image[] | undefined;
  /** The node's pools (a container's root filesystem may go to another than its image's). */
  pools: NodePool[] | undefined;
}

const KIND_DESCRIPTIONS: Record<InstanceKind, string> = {
  qemu: "A guest with its own kernel, booted from an ISO or a disk image on new volumes.",
  lxc: "Shares this node's kernel; its root filesystem comes from a container image.",
};

/** Machine types the API deploys: pc and q35, or their versioned names (machines.py). */
const DEPLOYABLE_MACHINE = /^(pc|q35|pc-i440fx-\d+(\.\d+)*|pc-q35-\d+(\.\d+)*)$/;

export function machineTypesOf(capabilities: ArchCapabilities | undefined): string[] {
  const reported = (capabilities?.machines ?? [])
    .map((m) => m.name)
    .filter((name) => DEPLOYABLE_MACHINE.test(name));
  // The aliases first: they follow the node's QEMU upgrades, versioned names don't.
  const rest = [...new Set(reported)].filter((name) => name !== "pc" && name !== "q35").sort();
  return ["pc", "q35", ...rest];
}

export function firmwaresOf(capabilities: ArchCapabilities | undefined): string[] {
  const reported = Object.keys(capabilities?.firmware ?? {}).filter(
    (name) => name === "bios" || name === "efi",
  );
  return reported.length > 0 ? reported.sort() : ["bios", "efi"];
}

export const FIRMWARE_LABELS: Record<string, string> = { bios: "BIOS", efi: "UEFI" };

export function GeneralStep({ form, update, errors, capabilities, images, pools }: Props) {
  const number = (field: "sockets" | "cores" | "threads" | "memory") => (_e: unknown, value: string) =>
    update({ [field]: value });
  // A node that said so (capabilities) refuses a container's deploy; say why before.
  const containerRefusal =
    capabilities?.containers === false
      ? `This node can't run containers: ${capabilities.containers_reason || "its LXC driver is not available."}`
      : undefined;
  return (
    <Form onSubmit={(event) => event.preventDefault()}>
      <FormGroup label="Instance type" role="radiogroup" isInline fieldId="deploy-kind">
        {(["qemu", "lxc"] as const).map((kind) => (
          <Radio
            key={kind}
            id={`deploy-kind-${kind}`}
            name="deploy-kind"
            label={kindTitle(kind)}
            description={(kind === "lxc" && containerRefusal) || KIND_DESCRIPTIONS[kind]}
            isDisabled={kind === "lxc" && containerRefusal !== undefined && form.kind !== "lxc"}
            isChecked={form.kind === kind}
            onChange={() => {
              const next = withKind(form, kind, images);
              update({ kind: next.kind, image: next.image });
            }}
          />
        ))}
        <FieldMessage errors={errors} field="type" />
        <FieldMessage errors={errors} field="metadata" />
      </FormGroup>
      <FormGroup label="Name" isRequired fieldId="deploy-name">
        <TextInput
          id="deploy-name"
          value={form.name}
          onChange={(_e, value) => update({ name: value })}
          validated={validatedOf(errors, "name")}
          isRequired
          autoFocus
        />
        <FieldMessage errors={errors} field="name" />
      </FormGroup>
      <FormGroup label="Description" fieldId="deploy-description">
        <TextArea
          id="deploy-description"
          value={form.description}
          onChange={(_e, value) => update({ description: value })}
          validated={validatedOf(errors, "description")}
          resizeOrientation="vertical"
          rows={2}
        />
        <FieldMessage errors={errors} field="description" />
      </FormGroup>
      <Grid hasGutter md={4}>
        <GridItem>
          <FormGroup label="CPU sockets" isRequired fieldId="deploy-sockets">
            <TextInput
              id="deploy-sockets"
              type="number"
              min={1}
              value={form.sockets}
              onChange={number("sockets")}
              validated={validatedOf(errors, "cpu.sockets", "cpu")}
            />
            <FieldMessage errors={errors} field="cpu.sockets" />
          </FormGroup>
        </GridItem>
        <GridItem>
          <FormGroup label="CPU cores" isRequired fieldId="deploy-cores">
            <TextInput
              id="deploy-cores"
              type="number"
              min={1}
              value={form.cores}
              onChange={number("cores")}
              validated={validatedOf(errors, "cpu.cores", "cpu")}
            />
            <FieldMessage errors={errors} field="cpu.cores" />
          </FormGroup>
        </GridItem>
        <GridItem>
          <FormGroup label="CPU threads" isRequired fieldId="deploy-threads">
            <TextInput
              id="deploy-threads"
              type="number"
              min={1}
              value={form.threads}
              onChange={number("threads")}
              validated={validatedOf(errors, "cpu.threads", "cpu")}
            />
            <FieldMessage errors={errors} field="cpu.threads" />
          </FormGroup>
        </GridItem>
      </Grid>
      {/* The server judges the topology as a whole too (vCPUs per machine type). */}
      <FieldMessage errors={errors} field="cpu" />
      <FormGroup label="Memory (MB)" isRequired fieldId="deploy-memory">
        <TextInput
          id="deploy-memory"
          type="number"
          min={64}
          value={form.memory}
          onChange={number("memory")}
          validated={validatedOf(errors, "memory")}
        />
        <FieldMessage errors={errors} field="memory" />
      </FormGroup>
      {form.kind === "lxc" ? (
        <ContainerFields form={form} update={update} errors={errors} images={images} pools={pools} />
      ) : (
        <MachineFields form={form} update={update} errors={errors} capabilities={capabilities} />
      )}
      <FormGroup fieldId="deploy-autostart">
        <Checkbox
          id="deploy-autostart"
          label="Autostart"
          description="Start the instance whenever its node starts."
          isChecked={form.autostart}
          onChange={(_e, checked) => update({ autostart: checked })}
        />
        <FieldMessage errors={errors} field="autostart" />
      </FormGroup>
    </Form>
  );
}

/** What only a virtual machine has: its firmware, machine type and CPU model. */
function MachineFields({ form, update, errors, capabilities }: Omit<Props, "images" | "pools">) {
  const models = capabilities?.cpu_models ?? [];
  const usable = models.filter((m) => !m.experimental);
  const unusable = models.filter((m) => m.experimental);
  return (
    <>
      <Grid hasGutter md={4}>
        <GridItem>
          <FormGroup label="Firmware" fieldId="deploy-firmware">
            <FormSelect
              id="deploy-firmware"
              value={form.firmware}
              onChange={(_e, value) => update({ firmware: value })}
              validated={validatedOf(errors, "metadata.firmware", "metadata.secure_boot")}
            >
              {firmwaresOf(capabilities).map((name) => (
                <FormSelectOption key={name} value={name} label={FIRMWARE_LABELS[name] ?? name} />
              ))}
            </FormSelect>
            <FieldMessage errors={errors} field="metadata.firmware" />
          </FormGroup>
        </GridItem>
        <GridItem>
          <FormGroup label="Machine type" fieldId="deploy-machine">
            <FormSelect
              id="deploy-machine"
              value={form.machineType}
              onChange={(_e, value) => update({ machineType: value })}
              validated={validatedOf(errors, "metadata.machine_type")}
            >
              {machineTypesOf(capabilities).map((name) => (
                <FormSelectOption key={name} value={name} label={name} />
              ))}
            </FormSelect>
            <FieldMessage errors={errors} field="metadata.machine_type" />
          </FormGroup>
        </GridItem>
        <GridItem>
          <FormGroup label="CPU model" fieldId="deploy-cpu-model">
            <FormSelect
              id="deploy-cpu-model"
              value={form.cpuModel}
              onChange={(_e, value) => update({ cpuModel: value })}
              validated={validatedOf(errors, "metadata.cpu_model")}
            >
              <FormSelectOption value="" label="Hypervisor default" />
              {usable.length > 0 && (
                <FormSelectOptionGroup label="Usable on this node">
                  {usable.map((m) => (
                    <FormSelectOption key={m.name} value={m.name} label={m.name} />
                  ))}
                </FormSelectOptionGroup>
              )}
              {unusable.length > 0 && (
                <FormSelectOptionGroup label="Not usable on this node's CPU">
                  {unusable.map((m) => (
                    <FormSelectOption key={m.name} value={m.name} label={m.name} isDisabled />
                  ))}
                </FormSelectOptionGroup>
              )}
            </FormSelect>
            <FieldMessage errors={errors} field="metadata.cpu_model" />
          </FormGroup>
        </GridItem>
      </Grid>
      <FieldMessage errors={errors} field="metadata.secure_boot" />
    </>
  );
}
