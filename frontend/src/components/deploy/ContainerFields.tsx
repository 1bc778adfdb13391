/**
 * What General information asks only of a container: the image its root filesystem is
 * unpacked from (one of the node's container images, type 1), the pool it goes into and
 * its size, its init, and whether it runs privileged. A container gets no new volumes at
 * deploy, so the wizard has no Volumes step for it; this is where the user learns where
 * its disk comes from.
 */
import {
  Alert,
  Checkbox,
  FormGroup,
  FormHelperText,
  FormSelect,
  FormSelectOption,
  Grid,
  GridItem,
  HelperText,
  HelperTextItem,
  TextInput,
} from "@patternfly/react-core";

import type { Image, NodePool } from "../../api/queries";
import { FieldMessage, type FieldErrors, validatedOf } from "./FieldMessage";
import { containerImages, DEFAULT_INIT, type DeployForm, rootfsPools } from "./form";
import { poolLabel } from "./VolumesStep";

interface Props {
  form: DeployForm;
  update: (change: Partial<DeployForm>) => void;
  errors: FieldErrors;
  /** The node's images; undefined while they load. */
  images: Image[] | undefined;
  /** The node's pools; undefined while they load. */
  pools: NodePool[] | undefined;
}

export function ContainerFields({ form, update, errors, images, pools }: Props) {
  const usable = containerImages(images);
  const imagePool = pools?.find((p) => p.id === usable.find((i) => i.name === form.image)?.storage_pool_id);
  return (
    <>
      <Grid hasGutter md={6}>
        <GridItem>
          <FormGroup label="Image" isRequired fieldId="deploy-container-image">
            <FormSelect
              id="deploy-container-image"
              value={form.image}
              onChange={(_e, value) => update({ image: value })}
              validated={validatedOf(errors, "image")}
              isDisabled={images !== undefined && usable.length === 0}
            >
              {form.image === "" && (
                <FormSelectOption value="" label={images ? "Choose an image" : "Loading images..."} isPlaceholder />
              )}
              {usable.map((i) => (
                <FormSelectOption key={i.id} value={i.name} label={`${i.name} (${i.size} MB)`} />
              ))}
            </FormSelect>
            <FieldMessage errors={errors} field="image" />
            {!errors.image && (
              <FormHelperText>
                <HelperText>
                  <HelperTextItem>
                    Unpacked into a new volume as the container&apos;s root filesystem, its only
                    volume at deploy.
                  </HelperTextItem>
                </HelperText>
              </FormHelperText>
            )}
          </FormGroup>
        </GridItem>
        <GridItem>
          <FormGroup label="Root filesystem pool" fieldId="deploy-root-pool">
            <FormSelect
              id="deploy-root-pool"
              value={form.rootPoolId}
              onChange={(_e, value) => update({ rootPoolId: value })}
              validated={validatedOf(errors, "metadata.storage_pool_id")}
            >
              <FormSelectOption
                value=""
                label={imagePool ? `The image's pool (${imagePool.name})` : "The image's pool"}
              />
              {rootfsPools(pools).map((pool) => (
                <FormSelectOption key={pool.id} value={pool.id} label={poolLabel(pool)} />
              ))}
            </FormSelect>
            <FieldMessage errors={errors} field="metadata.storage_pool_id" />
          </FormGroup>
        </GridItem>
        <GridItem>
          <FormGroup label="Root filesystem size (GB)" fieldId="deploy-root-size">
            <TextInput
              id="deploy-root-size"
              value={form.rootSize}
              onChange={(_e, value) => update({ rootSize: value })}
              validated={validatedOf(errors, "metadata.rootfs_size")}
              placeholder="No limit"
              inputMode="numeric"
              autoComplete="off"
            />
            <FieldMessage errors={errors} field="metadata.rootfs_size" />
            {!errors["metadata.rootfs_size"] && (
              <FormHelperText>
                <HelperText>
                  <HelperTextItem>
                    Set: an ext4 volume of this size, which the container can&apos;t outgrow.
                    Empty: a directory on a directory or NetFS pool, or on an LVM or ZFS pool
                    the image&apos;s size plus 1 GB.
                  </HelperTextItem>
                </HelperText>
              </FormHelperText>
            )}
          </FormGroup>
        </GridItem>
      </Grid>
      {images !== undefined && usable.length === 0 && (
        <Alert variant="info" isInline title="This node has no container images">
          Import one in the node&apos;s Images (on its Summary tab, or right-click the node →
          Upload image): a root filesystem tarball or an OCI image. It is listed as a container
          image once its import has finished.
        </Alert>
      )}
      <FormGroup label="Init" isRequired fieldId="deploy-init">
        <TextInput
          id="deploy-init"
          value={form.init}
          onChange={(_e, value) => update({ init: value })}
          validated={validatedOf(errors, "metadata.init")}
          placeholder={DEFAULT_INIT}
          autoComplete="off"
        />
        <FieldMessage errors={errors} field="metadata.init" />
        {!errors["metadata.init"] && (
          <FormHelperText>
            <HelperText>
              <HelperTextItem>The container&apos;s first process, a path inside its image.</HelperTextItem>
            </HelperText>
          </FormHelperText>
        )}
      </FormGroup>
      <FormGroup fieldId="deploy-privileged">
        <Checkbox
          id="deploy-privileged"
          label="Privileged"
          description="Run the container without user-namespace mapping. Off: its root is an unprivileged user on this node."
          isChecked={form.privileged}
          onChange={(_e, checked) => update({ privileged: checked })}
        />
        <FieldMessage errors={errors} field="metadata.privileged" />
      </FormGroup>
      {form.privileged && (
        <Alert variant="warning" isInline title="A privileged container's root is the host's root">
          A process that escapes it has full control of this node and everything on it. Use a
          privileged container only for trusted workloads.
        </Alert>
      )}
    </>
  );
}
