/**
 * Create Volume: a volume of a given size in one of the node's storage pools, with its
 * driver (qcow2, a file that grows as it is written, raw, or dir: a directory, which a
 * container mounts at a path inside). Block pools (LVM, Ceph RBD, ZFS) hold raw volumes only; an iSCSI pool's volumes are its target's LUNs, so it isn't
 * offered. The server answers with the volume's ID and a task that makes it; the list
 * shows it as Creating until that finishes. Its message appears under the field it names.
 */
import {
  FormGroup,
  FormHelperText,
  FormSelect,
  FormSelectOption,
  HelperText,
  HelperTextItem,
  TextInput,
} from "@patternfly/react-core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";

import { api, unwrap } from "../../api/client";
import { keys, useNodePools } from "../../api/queries";
import { DescriptionField, EditDialog } from "../common/EditDialog";
import { errorIdOf, FieldError, validatedBy } from "../common/FieldError";
import { isFileBacked, makesVolumes } from "./poolTypes";

const FIELDS = ["name", "storage_pool_id", "size", "driver", "description"];
type Driver = "qcow2" | "raw" | "dir";

const DRIVER_HELP: Record<Driver, string> = {
  qcow2: "qcow2 takes space as it is written; raw takes its whole size at once.",
  raw: "qcow2 takes space as it is written; raw takes its whole size at once.",
  dir: "A directory, for a container to mount at a path inside it (a VM can't attach it).",
};

interface Props {
  nodeId: string;
  /** The pool the list is filtered by, chosen at first. */
  poolId?: string;
  onClose: () => void;
}

export function CreateVolumeDialog({ nodeId, poolId, onClose }: Props) {
  const client = useQueryClient();
  const ids = { name: useId(), pool: useId(), size: useId(), driver: useId() };
  const pools = useNodePools(nodeId);
  const choices = (pools.data ?? []).filter((p) => makesVolumes(p.type));
  const [name, setName] = useState("");
  const [chosen, setChosen] = useState(poolId ?? "");
  const [size, setSize] = useState("1");
  const [driverChoice, setDriver] = useState<Driver | null>(null);
  const [description, setDescription] = useState("");
  // Until the user picks a pool, the only one there is (the usual single default pool).
  const pool = choices.find((p) => p.id === chosen) ?? (choices.length === 1 ? choices[0] : undefined);
  const fileBacked = pool === undefined || isFileBacked(pool.type);
  const driver: Driver = fileBacked ? (driverChoice ?? "qcow2") : "raw";

  const create = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST("/api/v1/volumes", {
          body: {
            node_id: nodeId,
            storage_pool_id: pool?.id ?? "",
            name: name.trim(),
            size: Number(size),
            driver,
            description: description.trim(),
          },
        }),
      ),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: keys.volumes });
      void client.invalidateQueries({ queryKey: keys.pools });
      onClose();
    },
  });
  const error = create.error;

  return (
    <EditDialog
      title="Create Volume"
      fields={FIELDS}
      isPending={create.isPending}
      error={error}
      errorTitle="The volume was not created"
      submitLabel="Create"
      onSubmit={() => create.mutate()}
      onClose={onClose}
    >
      <FormGroup label="Name" isRequired fieldId={ids.name}>
        <TextInput
          id={ids.name}
          value={name}
          onChange={(_e, v) => setName(v)}
          aria-describedby={errorIdOf(ids.name)}
          validated={validatedBy(error, "name")}
          isRequired
        />
        <FieldError error={error} field="name" controlId={ids.name} />
      </FormGroup>
      <FormGroup label="Storage Pool" isRequired fieldId={ids.pool}>
        <FormSelect
          id={ids.pool}
          value={pool?.id ?? ""}
          onChange={(_e, v) => setChosen(v)}
          aria-describedby={errorIdOf(ids.pool)}
          validated={validatedBy(error, "storage_pool_id")}
        >
          {pool === undefined ? (
            <FormSelectOption value="" label="Choose a storage pool" isPlaceholder />
          ) : null}
          {choices.map((p) => (
            <FormSelectOption
              key={p.id}
              value={p.id}
              label={`${p.name} (${p.usage.available} GB free)`}
              isDisabled={!p.available}
            />
          ))}
        </FormSelect>
        {!pools.isPending && choices.length === 0 ? (
          <FormHelperText>
            <HelperText>
              <HelperTextItem variant="warning">
                No storage pool of this node can hold new volumes; enable one from the
                cluster&apos;s Storage tab.
              </HelperTextItem>
            </HelperText>
          </FormHelperText>
        ) : null}
        <FieldError error={error} field="storage_pool_id" controlId={ids.pool} />
      </FormGroup>
      <FormGroup label="Size (GB)" isRequired fieldId={ids.size}>
        <TextInput
          id={ids.size}
          type="number"
          min={1}
          value={size}
          onChange={(_e, v) => setSize(v)}
          aria-describedby={errorIdOf(ids.size)}
          validated={validatedBy(error, "size")}
          isRequired
        />
        <FieldError error={error} field="size" controlId={ids.size} />
      </FormGroup>
      <FormGroup label="Driver" fieldId={ids.driver}>
        <FormSelect
          id={ids.driver}
          value={driver}
          onChange={(_e, v) => setDriver(v as Driver)}
          isDisabled={!fileBacked}
          aria-describedby={`${ids.driver}-help ${errorIdOf(ids.driver)}`}
          validated={validatedBy(error, "driver")}
        >
          <FormSelectOption value="qcow2" label="qcow2" />
          <FormSelectOption value="raw" label="raw" />
          <FormSelectOption value="dir" label="dir (a container's mount point)" />
        </FormSelect>
        <FormHelperText>
          <HelperText>
            <HelperTextItem id={`${ids.driver}-help`}>
              {fileBacked ? DRIVER_HELP[driver] : "A block pool holds raw volumes."}
            </HelperTextItem>
          </HelperText>
        </FormHelperText>
        <FieldError error={error} field="driver" controlId={ids.driver} />
      </FormGroup>
      <DescriptionField value={description} onChange={setDescription} error={error} />
    </EditDialog>
  );
}
