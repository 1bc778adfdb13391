/**
 * The seed's "Add a volume (disk space) as needed": new volumes from the node's storage
 * pools, each with a size and bus, and what the instance boots from: an uploaded ISO
 * (inserted as a CD-ROM) or a disk image (copied into the first new volume).
 */
import {
  Content,
  Form,
  FormGroup,
  FormSelect,
  FormSelectOption,
  FormSelectOptionGroup,
  Grid,
  GridItem,
  TextInput,
} from "@patternfly/react-core";

import type { Image, NodePool } from "../../api/queries";
import { FieldMessage, type FieldErrors, validatedOf } from "./FieldMessage";
import { AddRowButton, RemoveRowCell } from "./RowButtons";
import { DISK_BUSES, type DeployForm, type VolumeForm } from "./form";

/** Past this many, device names and the guest's boot menu get unwieldy; attach more later. */
export const MAX_NEW_VOLUMES = 8;

interface Props {
  form: DeployForm;
  update: (change: Partial<DeployForm>) => void;
  errors: FieldErrors;
  pools: NodePool[] | undefined;
  images: Image[] | undefined;
}

/** The pool's free space (the API gives GB), once the node's agent has reported it. */
export function poolLabel(pool: NodePool): string {
  return pool.available
    ? `${pool.name} (${pool.usage.available.toFixed(1)} GB free)`
    : `${pool.name} (not started yet)`;
}

export function VolumesStep({ form, update, errors, pools, images }: Props) {
  // Every pool of the node: one the agent hasn't brought up yet is started by the deploy.
  const nodePools = pools ?? [];
  const ready = (images ?? []).filter((i) => i.status === "available");
  const isos = ready.filter((i) => i.format === "iso");
  const disks = ready.filter((i) => i.format === "qcow2" || i.format === "raw");

  const setVolume = (index: number, change: Partial<VolumeForm>) =>
    update({ volumes: form.volumes.map((v, i) => (i === index ? { ...v, ...change } : v)) });
  const addVolume = () => {
    const key = Math.max(0, ...form.volumes.map((v) => v.key)) + 1;
    update({
      volumes: [...form.volumes, { key, poolId: nodePools[0]?.id ?? "", size: "10", bus: "virtio" }],
    });
  };
  const removeVolume = (index: number) =>
    update({ volumes: form.volumes.filter((_v, i) => i !== index) });

  return (
    <Form onSubmit={(event) => event.preventDefault()}>
      <Content component="p">
        New volumes are created in a storage pool of this node. The first one is the
        instance&apos;s root disk.
      </Content>
      {form.volumes.map((volume, index) => {
        const field = `metadata.new_volumes[${index}]`;
        const label = `Volume ${index + 1}`;
        return (
          <Grid hasGutter key={volume.key} role="group" aria-label={label}>
            <GridItem md={5}>
              <FormGroup label={`${label}: Storage pool`} isRequired fieldId={`deploy-pool-${volume.key}`}>
                <FormSelect
                  id={`deploy-pool-${volume.key}`}
                  value={volume.poolId}
                  onChange={(_e, value) => setVolume(index, { poolId: value })}
                  validated={validatedOf(errors, `${field}.storage_pool_id`)}
                >
                  {volume.poolId === "" && <FormSelectOption value="" label="Choose a pool" isPlaceholder />}
                  {nodePools.map((pool) => (
                    <FormSelectOption
                      key={pool.id}
                      value={pool.id}
                      label={poolLabel(pool)}
                    />
                  ))}
                </FormSelect>
                <FieldMessage errors={errors} field={`${field}.storage_pool_id`} />
              </FormGroup>
            </GridItem>
            <GridItem md={3}>
              <FormGroup label={`${label}: Size (GB)`} isRequired fieldId={`deploy-size-${volume.key}`}>
                <TextInput
                  id={`deploy-size-${volume.key}`}
                  type="number"
                  min={1}
                  value={volume.size}
                  onChange={(_e, value) => setVolume(index, { size: value })}
                  validated={validatedOf(errors, `${field}.size`)}
                />
                <FieldMessage errors={errors} field={`${field}.size`} />
              </FormGroup>
            </GridItem>
            <GridItem md={3}>
              <FormGroup label={`${label}: Bus`} fieldId={`deploy-bus-${volume.key}`}>
                <FormSelect
                  id={`deploy-bus-${volume.key}`}
                  value={volume.bus}
                  onChange={(_e, value) => setVolume(index, { bus: value })}
                  validated={validatedOf(errors, `${field}.bus`, `${field}.dev`, field)}
                >
                  {DISK_BUSES.map((bus) => (
                    <FormSelectOption key={bus} value={bus} label={bus} />
                  ))}
                </FormSelect>
                <FieldMessage errors={errors} field={`${field}.bus`} />
                <FieldMessage errors={errors} field={`${field}.dev`} />
                <FieldMessage errors={errors} field={`${field}.driver`} />
                <FieldMessage errors={errors} field={field} />
              </FormGroup>
            </GridItem>
            <RemoveRowCell what="volume" index={index} onRemove={removeVolume} />
          </Grid>
        );
      })}
      <div>
        <AddRowButton onAdd={addVolume} full={form.volumes.length >= MAX_NEW_VOLUMES}>
          Add volume
        </AddRowButton>
        {pools !== undefined && nodePools.length === 0 && (
          <Content component="small"> This node has no storage pool available for volumes.</Content>
        )}
      </div>
      <FormGroup label="Boot image" fieldId="deploy-image">
        <FormSelect
          id="deploy-image"
          value={form.image}
          onChange={(_e, value) => update({ image: value })}
          validated={validatedOf(errors, "image")}
        >
          <FormSelectOption value="" label="None" />
          {isos.length > 0 && (
            <FormSelectOptionGroup label="ISO images (inserted as a CD-ROM)">
              {isos.map((i) => (
                <FormSelectOption key={i.id} value={i.name} label={`${i.name} (${i.size} MB)`} />
              ))}
            </FormSelectOptionGroup>
          )}
          {disks.length > 0 && (
            <FormSelectOptionGroup label="Disk images (copied into volume 1)">
              {disks.map((i) => (
                <FormSelectOption key={i.id} value={i.name} label={`${i.name} (${i.format}, ${i.size} MB)`} />
              ))}
            </FormSelectOptionGroup>
          )}
        </FormSelect>
        <FieldMessage errors={errors} field="image" />
      </FormGroup>
    </Form>
  );
}
