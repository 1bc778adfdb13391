/**
 * Edit an instance: name, description and autostart at any time; memory and CPU topology
 * only while it is stopped (they apply at its next start, as the server says). Only what
 * changed is sent, so renaming a running instance never trips the resources rule. The
 * server's message appears under the field it names, or above the form.
 */
import {
  Alert,
  Checkbox,
  FormGroup,
  FormHelperText,
  Grid,
  GridItem,
  HelperText,
  HelperTextItem,
  TextArea,
  TextInput,
} from "@patternfly/react-core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";

import { api, unwrap } from "../../api/client";
import { ApiError } from "../../api/errors";
import { type Instance, keys, type Schemas } from "../../api/queries";
import { EditDialog } from "../common/EditDialog";
import { errorIdOf, FieldError, validatedBy } from "../common/FieldError";
import { resourcesRefusal } from "./states";

type Changes = Schemas["InstanceChanges"];

/** The body is `{data: {...}}`: a malformed field comes back as `data.memory`, a rule the
 * service checks as `memory`; both belong under the same control. */
function withoutDataPrefix(error: unknown): unknown {
  if (error instanceof ApiError && error.field?.startsWith("data.")) {
    return new ApiError({ code: error.code, message: error.message, field: error.field.slice(5) });
  }
  return error;
}

function vcpuTotal(sockets: string, cores: string, threads: string): string {
  const total = Number(sockets) * Number(cores) * Number(threads);
  if (!Number.isInteger(total) || total < 1) return "? vCPUs";
  return total === 1 ? "1 vCPU" : `${total} vCPUs`;
}

const FIELDS = ["name", "description", "memory", "cpu", "autostart"];

export function EditInstanceDialog({ instance, onClose }: { instance: Instance; onClose: () => void }) {
  const client = useQueryClient();
  const ids = { name: useId(), description: useId(), memory: useId(), cpu: useId(), autostart: useId() };
  const [name, setName] = useState(instance.name);
  const [description, setDescription] = useState(instance.description);
  const [memory, setMemory] = useState(String(instance.memory));
  const [sockets, setSockets] = useState(String(instance.cpu.sockets));
  const [cores, setCores] = useState(String(instance.cpu.cores));
  const [threads, setThreads] = useState(String(instance.cpu.threads));
  const [autostart, setAutostart] = useState(instance.autostart);
  const locked = resourcesRefusal(instance);

  const save = useMutation({
    mutationFn: async () => {
      const data: Changes = { action: "update_info_fields" };
      if (name !== instance.name) data.name = name;
      if (description !== instance.description) data.description = description;
      if (autostart !== instance.autostart) data.autostart = autostart;
      const cpu = { sockets: Number(sockets), cores: Number(cores), threads: Number(threads) };
      const cpuChanged =
        cpu.sockets !== instance.cpu.sockets ||
        cpu.cores !== instance.cpu.cores ||
        cpu.threads !== instance.cpu.threads;
      if (cpuChanged) data.cpu = cpu;
      if (Number(memory) !== instance.memory) data.memory = Number(memory);
      if (cpuChanged || data.memory !== undefined) data.action = "update_resources";
      return unwrap(
        await api.PATCH("/api/v1/instances/{instance_id}", {
          params: { path: { instance_id: instance.id } },
          body: { data },
        }),
      );
    },
    onSuccess: (detail) => {
      client.setQueryData(keys.instance(instance.id), detail);
      void client.invalidateQueries({ queryKey: keys.instances });
      void client.invalidateQueries({ queryKey: keys.tree });
      onClose();
    },
  });
  const error = withoutDataPrefix(save.error);
  const cpuInput = (label: string, value: string, set: (v: string) => void, part: string) => (
    <GridItem span={4}>
      <FormGroup label={label} fieldId={`${ids.cpu}-${part}`}>
        <TextInput
          id={`${ids.cpu}-${part}`}
          type="number"
          min={1}
          value={value}
          onChange={(_e, v) => set(v)}
          isDisabled={locked !== undefined}
          validated={validatedBy(error, `cpu.${part}`)}
        />
      </FormGroup>
    </GridItem>
  );

  return (
    <EditDialog
      title={`Edit ${instance.name}`}
      fields={FIELDS}
      isPending={save.isPending}
      error={error}
      errorTitle="The instance was not changed"
      onSubmit={() => save.mutate()}
      onClose={onClose}
      variant="medium"
    >
      <FormGroup label="Name" isRequired fieldId={ids.name}>
        <TextInput
          id={ids.name}
          aria-describedby={errorIdOf(ids.name)}
          value={name}
          onChange={(_e, v) => setName(v)}
          validated={validatedBy(error, "name")}
          isRequired
        />
        <FieldError error={error} field="name" controlId={ids.name} />
      </FormGroup>
      <FormGroup label="Description" fieldId={ids.description}>
        <TextArea
          id={ids.description}
          aria-describedby={errorIdOf(ids.description)}
          value={description}
          onChange={(_e, v) => setDescription(v)}
          validated={validatedBy(error, "description")}
          resizeOrientation="vertical"
        />
        <FieldError error={error} field="description" controlId={ids.description} />
      </FormGroup>
      {locked ? (
        <Alert variant="info" isInline isPlain title="Memory and CPU can't be changed now">
          {locked}
        </Alert>
      ) : null}
      <FormGroup label="Memory (MB)" fieldId={ids.memory}>
        <TextInput
          id={ids.memory}
          aria-describedby={errorIdOf(ids.memory)}
          type="number"
          min={64}
          value={memory}
          onChange={(_e, v) => setMemory(v)}
          isDisabled={locked !== undefined}
          validated={validatedBy(error, "memory")}
        />
        <FieldError error={error} field="memory" controlId={ids.memory} />
      </FormGroup>
      <FormGroup label="CPU topology" role="group" fieldId={`${ids.cpu}-sockets`}>
        <Grid hasGutter>
          {cpuInput("Sockets", sockets, setSockets, "sockets")}
          {cpuInput("Cores", cores, setCores, "cores")}
          {cpuInput("Threads", threads, setThreads, "threads")}
        </Grid>
        <FormHelperText>
          <HelperText>
            <HelperTextItem>
              {vcpuTotal(sockets, cores, threads)} (sockets × cores × threads)
            </HelperTextItem>
          </HelperText>
        </FormHelperText>
        <FieldError error={error} field="cpu" />
      </FormGroup>
      <FormGroup fieldId={ids.autostart}>
        <Checkbox
          id={ids.autostart}
          label="Autostart"
          description="Start the instance when its node starts."
          isChecked={autostart}
          onChange={(_e, checked) => setAutostart(checked)}
        />
        <FieldError error={error} field="autostart" />
      </FormGroup>
    </EditDialog>
  );
}
