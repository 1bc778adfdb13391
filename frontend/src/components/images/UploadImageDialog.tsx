/**
 * Upload an ISO or disk image to a node: the file is streamed with a progress bar and can be
 * cancelled; then the node's task moves it into the pool, and its result is shown. The
 * server judges the upload (name, format, free space, the file's contents); its refusal is
 * shown under the field it names, or as the dialog's alert.
 */
import {
  Alert,
  Button,
  FileUpload,
  Form,
  FormGroup,
  FormHelperText,
  FormSelect,
  FormSelectOption,
  HelperText,
  HelperTextItem,
  Modal,
  ModalBody,
  ModalFooter,
  ModalHeader,
  ModalVariant,
  Progress,
  ProgressMeasureLocation,
  ProgressVariant,
  TextInput,
} from "@patternfly/react-core";
import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useId, useRef, useState } from "react";

import { messageOf } from "../../api/errors";
import { keys, useNodePools, useTask } from "../../api/queries";
import { FieldError, validatedBy } from "../common/FieldError";
import { poolLabel } from "../deploy/VolumesStep";
import { type Upload, UploadCancelled, uploadImage } from "./upload";

/** The API's image formats (services/storage/images.py IMAGE_FORMATS). */
const FORMATS = ["iso", "qcow2", "raw", "kernel", "initrd"] as const;
/** The image name rule's characters (services/validation.py IMAGE_NAME), as a hint only. */
const IMAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

type Phase =
  | { step: "form" }
  | { step: "sending"; sent: number; total: number }
  | { step: "importing"; taskId: string };

function megabytes(bytes: number): string {
  return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
}

export function UploadImageDialog({ nodeId, onClose }: { nodeId: string; onClose: () => void }) {
  const titleId = useId();
  const client = useQueryClient();
  const pools = useNodePools(nodeId);
  // A pool the agent hasn't brought up yet still takes uploads: the import task starts it.
  const imagePools = (pools.data ?? []).filter((p) => p.can_hold_images);
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState("");
  const [format, setFormat] = useState("");
  const [poolId, setPoolId] = useState("");
  const [phase, setPhase] = useState<Phase>({ step: "form" });
  const [error, setError] = useState<unknown>(null);
  const upload = useRef<Upload | null>(null);

  // Closing the dialog mid-upload stops sending (the server drops the partial file).
  useEffect(() => () => upload.current?.cancel(), []);

  const pool = poolId || imagePools[0]?.id || "";
  const nameHint =
    name !== "" && !IMAGE_NAME.test(name)
      ? "Use letters, digits, '.', '_', '+' or '-', starting with a letter or digit."
      : undefined;

  const start = () => {
    if (!file) return;
    setError(null);
    setPhase({ step: "sending", sent: 0, total: file.size });
    const current = uploadImage({
      nodeId,
      poolId: pool,
      name,
      format: format || undefined,
      file,
      onProgress: (sent, total) => setPhase({ step: "sending", sent, total }),
    });
    upload.current = current;
    current.done.then(
      (result) => {
        upload.current = null;
        setPhase({ step: "importing", taskId: result.task_id });
        void client.invalidateQueries({ queryKey: keys.nodeImages(nodeId) });
      },
      (reason: unknown) => {
        upload.current = null;
        setPhase({ step: "form" });
        if (!(reason instanceof UploadCancelled)) setError(reason);
      },
    );
  };

  const sending = phase.step === "sending";
  const canUpload = file !== null && name !== "" && !nameHint && pool !== "" && phase.step === "form";

  // While sending, neither Escape nor a close button may throw the upload away unasked:
  // without onClose PatternFly shows no close button and ignores Escape; Cancel remains.
  return (
    <Modal
      isOpen
      variant={ModalVariant.medium}
      onClose={sending ? undefined : onClose}
      aria-labelledby={titleId}
    >
      <ModalHeader
        title="Upload image"
        labelId={titleId}
        description="An ISO (inserted as a CD-ROM) or a disk image (qcow2 or raw) that instances on this node can boot from."
      />
      <ModalBody>
        {phase.step === "importing" ? (
          <ImportProgress taskId={phase.taskId} name={name} />
        ) : (
          <Form
            onSubmit={(event) => {
              event.preventDefault();
              if (canUpload) start();
            }}
          >
            <FormGroup label="Image file" isRequired fieldId="upload-file">
              <FileUpload
                id="upload-file"
                filename={file?.name ?? ""}
                filenamePlaceholder="Choose an ISO or disk image"
                browseButtonText="Browse..."
                hideDefaultPreview
                isDisabled={sending}
                onFileInputChange={(_e, chosen) => {
                  setFile(chosen);
                  setError(null);
                  if (name === "" || name === file?.name) setName(chosen.name);
                }}
                onClearClick={() => setFile(null)}
                validated={validatedBy(error, "size")}
              />
              <FieldError error={error} field="size" />
            </FormGroup>
            <FormGroup label="Name" isRequired fieldId="upload-name">
              <TextInput
                id="upload-name"
                value={name}
                onChange={(_e, value) => setName(value)}
                isDisabled={sending}
                validated={nameHint ? "error" : validatedBy(error, "name")}
              />
              {nameHint ? <HintText text={nameHint} /> : <FieldError error={error} field="name" />}
            </FormGroup>
            <FormGroup label="Format" fieldId="upload-format">
              <FormSelect
                id="upload-format"
                value={format}
                onChange={(_e, value) => setFormat(value)}
                isDisabled={sending}
                validated={validatedBy(error, "format")}
              >
                <FormSelectOption value="" label="From the file name" />
                {FORMATS.map((f) => (
                  <FormSelectOption key={f} value={f} label={f} />
                ))}
              </FormSelect>
              <FieldError error={error} field="format" />
            </FormGroup>
            <FormGroup label="Storage pool" isRequired fieldId="upload-pool">
              <FormSelect
                id="upload-pool"
                value={pool}
                onChange={(_e, value) => setPoolId(value)}
                isDisabled={sending}
                validated={validatedBy(error, "storage_pool_id")}
              >
                {imagePools.length === 0 && (
                  <FormSelectOption
                    value=""
                    label={pools.isPending ? "Loading..." : "No pool of this node holds images"}
                    isPlaceholder
                  />
                )}
                {imagePools.map((p) => (
                  <FormSelectOption
                    key={p.id}
                    value={p.id}
                    label={poolLabel(p)}
                  />
                ))}
              </FormSelect>
              <FieldError error={error} field="storage_pool_id" />
            </FormGroup>
            {sending && (
              <Progress
                value={phase.total > 0 ? (100 * phase.sent) / phase.total : 0}
                title="Uploading"
                label={`${megabytes(phase.sent)} of ${megabytes(phase.total)}`}
                valueText={`${megabytes(phase.sent)} of ${megabytes(phase.total)}`}
                measureLocation={ProgressMeasureLocation.outside}
                aria-label="Upload progress"
              />
            )}
            {error && !["size", "name", "format", "storage_pool_id"].includes(fieldOf(error)) ? (
              <Alert variant="danger" isInline title="The upload was refused">
                {messageOf(error)}
              </Alert>
            ) : null}
          </Form>
        )}
      </ModalBody>
      <ModalFooter>
        {phase.step === "importing" ? (
          <Button variant="primary" onClick={onClose}>
            Close
          </Button>
        ) : (
          <>
            <Button variant="primary" onClick={start} isDisabled={!canUpload} isLoading={sending}>
              Upload
            </Button>
            <Button
              variant="link"
              onClick={() => {
                // While sending, Cancel stops the upload and keeps the dialog; else it closes.
                if (upload.current) upload.current.cancel();
                else onClose();
              }}
            >
              Cancel
            </Button>
          </>
        )}
      </ModalFooter>
    </Modal>
  );
}

function fieldOf(error: unknown): string {
  if (error && typeof error === "object" && "field" in error && typeof error.field === "string") {
    return error.field;
  }
  return "";
}

/** A cheap hint under a field, shown like the server's messages. */
function HintText({ text }: { text: string }) {
  return (
    <FormHelperText>
      <HelperText>
        <HelperTextItem variant="error">{text}</HelperTextItem>
      </HelperText>
    </FormHelperText>
  );
}

/** The node's task moving the uploaded file into its pool, and its result. */
function ImportProgress({ taskId, name }: { taskId: string; name: string }) {
  const task = useTask(taskId);
  const status = task.data?.status ?? "queued";
  const failed = status === "failed" || status === "cancelled";
  return (
    <>
      <Progress
        value={status === "succeeded" ? 100 : (task.data?.progress ?? 0)}
        title={status === "succeeded" ? "Available" : `Moving ${name} into the pool`}
        measureLocation={ProgressMeasureLocation.outside}
        variant={status === "succeeded" ? ProgressVariant.success : failed ? ProgressVariant.danger : undefined}
        aria-label="Import progress"
      />
      {status === "succeeded" && (
        <Alert variant="success" isInline title={`Image ${name} is available`} className="pf-v6-u-mt-md" />
      )}
      {failed && (
        <Alert variant="danger" isInline title="The node refused the image" className="pf-v6-u-mt-md">
          {task.data?.message}
        </Alert>
      )}
    </>
  );
}
