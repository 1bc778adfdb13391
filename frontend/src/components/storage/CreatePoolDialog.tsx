/**
 * Create Pool (seed: "Create Storage Pool"): choose the type, name it, and give the
 * configuration that type needs; the form's fields change with the type (a directory's
 * path; a network filesystem's protocol, server, export and mount point; an iSCSI
 * target's portal and IQN; ...). Secrets are password inputs: the server keeps them and
 * never sends them back. The new pool is enabled on no node; the pencil on its card
 * chooses where. The server's message appears under the field it names (`config.path`).
 */
import {
  Checkbox,
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
import { keys } from "../../api/queries";
import { DescriptionField, EditDialog } from "../common/EditDialog";
import { errorIdOf, FieldError, validatedBy } from "../common/FieldError";
import { type ConfigField, initialValues, requestConfig, shownFields } from "./poolConfig";
import { isFileBacked, POOL_TYPE_ORDER, POOL_TYPES, poolTypeTitle } from "./poolTypes";

interface Props {
  clusterId: string;
  onClose: () => void;
}

export function CreatePoolDialog({ clusterId, onClose }: Props) {
  const client = useQueryClient();
  const ids = { type: useId(), name: useId(), images: useId() };
  const configId = useId();
  const [type, setType] = useState<number>(POOL_TYPES.directory);
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  // Images are files: a file pool holds them by default, a block pool not unless asked.
  const [imagesChoice, setCanHoldImages] = useState<boolean | null>(null);
  const [values, setValues] = useState<Record<string, string>>(() => initialValues(POOL_TYPES.directory));
  const fields = shownFields(type, values);
  const canHoldImages = imagesChoice ?? isFileBacked(type);

  const chooseType = (next: number) => {
    setType(next);
    setCanHoldImages(null);
    // Each type has its own fields; what was typed for another doesn't carry over.
    setValues(initialValues(next));
  };

  const create = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST("/api/v1/clusters/{cluster_id}/storage_pools", {
          params: { path: { cluster_id: clusterId } },
          body: {
            name: name.trim(),
            type,
            description: description.trim(),
            can_hold_images: canHoldImages,
            config: requestConfig(type, values),
          },
        }),
      ),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: keys.pools });
      onClose();
    },
  });
  const error = create.error;

  return (
    <EditDialog
      title="Create Pool"
      fields={["type", "name", "description", "can_hold_images", ...fields.map((f) => `config.${f.key}`)]}
      isPending={create.isPending}
      error={error}
      errorTitle="The storage pool was not created"
      submitLabel="Create"
      onSubmit={() => create.mutate()}
      onClose={onClose}
      variant="medium"
    >
      <FormGroup label="Type" isRequired fieldId={ids.type}>
        <FormSelect
          id={ids.type}
          value={String(type)}
          onChange={(_e, v) => chooseType(Number(v))}
          aria-describedby={errorIdOf(ids.type)}
          validated={validatedBy(error, "type")}
        >
          {POOL_TYPE_ORDER.map((t) => (
            <FormSelectOption key={t} value={String(t)} label={poolTypeTitle(t)} />
          ))}
        </FormSelect>
        <FieldError error={error} field="type" controlId={ids.type} />
      </FormGroup>
      <FormGroup label="Name" isRequired fieldId={ids.name}>
        <TextInput
          id={ids.name}
          value={name}
          onChange={(_e, v) => setName(v)}
          aria-describedby={`${ids.name}-help ${errorIdOf(ids.name)}`}
          validated={validatedBy(error, "name")}
          isRequired
        />
        <FormHelperText>
          <HelperText>
            <HelperTextItem id={`${ids.name}-help`}>
              Unique in the cluster; it can&apos;t be changed later.
            </HelperTextItem>
          </HelperText>
        </FormHelperText>
        <FieldError error={error} field="name" controlId={ids.name} />
      </FormGroup>
      {fields.map((field) => (
        <ConfigInput
          key={`${type}-${field.key}`}
          id={`${configId}-${field.key}`}
          field={field}
          poolName={name.trim()}
          value={values[field.key] ?? ""}
          error={error}
          onChange={(value) => setValues((all) => ({ ...all, [field.key]: value }))}
        />
      ))}
      <DescriptionField value={description} onChange={setDescription} error={error} />
      <FormGroup fieldId={ids.images}>
        <Checkbox
          id={ids.images}
          label="Can hold images"
          description="ISO and disk images may be uploaded to this pool."
          isChecked={canHoldImages}
          onChange={(_e, checked) => setCanHoldImages(checked)}
        />
        <FieldError error={error} field="can_hold_images" controlId={ids.images} />
      </FormGroup>
    </EditDialog>
  );
}

function ConfigInput(props: {
  id: string;
  field: ConfigField;
  poolName: string;
  value: string;
  error: unknown;
  onChange: (value: string) => void;
}) {
  const { id, field, error } = props;
  const name = `config.${field.key}`;
  const helpId = `${id}-help`;
  const describedBy = `${field.help ? `${helpId} ` : ""}${errorIdOf(id)}`;
  const placeholder =
    typeof field.placeholder === "function" ? field.placeholder(props.poolName) : field.placeholder;
  return (
    <FormGroup label={field.label} isRequired={field.isRequired} fieldId={id}>
      {field.kind === "select" ? (
        <FormSelect
          id={id}
          value={props.value}
          onChange={(_e, v) => props.onChange(v)}
          aria-describedby={describedBy}
          validated={validatedBy(error, name)}
        >
          {(field.options ?? []).map((o) => (
            <FormSelectOption key={o.value} value={o.value} label={o.label} />
          ))}
        </FormSelect>
      ) : (
        <TextInput
          id={id}
          type={field.kind === "password" ? "password" : "text"}
          // A password manager must not fill a storage secret with the user's own password.
          autoComplete={field.kind === "password" ? "new-password" : "off"}
          value={props.value}
          placeholder={placeholder}
          onChange={(_e, v) => props.onChange(v)}
          aria-describedby={describedBy}
          validated={validatedBy(error, name)}
          isRequired={field.isRequired}
        />
      )}
      {field.help ? (
        <FormHelperText>
          <HelperText>
            <HelperTextItem id={helpId}>{field.help}</HelperTextItem>
          </HelperText>
        </FormHelperText>
      ) : null}
      <FieldError error={error} field={name} controlId={id} />
    </FormGroup>
  );
}
