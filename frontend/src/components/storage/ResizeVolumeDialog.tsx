/**
 * Resize Volume (seed: "Resize Volume"): a delta in GiB added to the volume's size, and
 * Live Resize, checked when the volume's instance runs (QEMU grows the disk under the
 * running guest); unchecked, the resize is cold. A detached volume, or one whose instance
 * is stopped, can only be resized cold, so the box is off and disabled then. The seed's
 * warning about resizing a volume in use stands above the form. The server answers with a
 * task; the list shows the volume as Resizing until its event brings the new size.
 */
import {
  Alert,
  Checkbox,
  FormGroup,
  FormHelperText,
  HelperText,
  HelperTextItem,
  TextInput,
} from "@patternfly/react-core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";

import { api, unwrap } from "../../api/client";
import { type Instance, keys, useInstance, type Volume } from "../../api/queries";
import { EditDialog } from "../common/EditDialog";
import { errorIdOf, FieldError, validatedBy } from "../common/FieldError";

const FIELDS = ["delta_gb", "live"];

interface Props {
  volume: Volume;
  /** The instance the volume is attached to, when the caller has it (the Resources tab). */
  instance?: Instance;
  onClose: () => void;
}

export function ResizeVolumeDialog({ volume, instance, onClose }: Props) {
  // From the volumes list the instance isn't at hand: read it for its state.
  const attachedId = instance ? null : volume.attached_to;
  const read = useInstance(attachedId ?? "", attachedId !== null);
  const owner = instance ?? read.data?.instance;
  const running = owner?.state === "running";
  return (
    // Keyed by whether it runs: Live Resize starts checked when it does, once that is known.
    <ResizeForm key={String(running)} volume={volume} running={running} onClose={onClose} />
  );
}

function ResizeForm({
  volume,
  running,
  onClose,
}: {
  volume: Volume;
  running: boolean;
  onClose: () => void;
}) {
  const client = useQueryClient();
  const ids = { delta: useId(), live: useId() };
  const [delta, setDelta] = useState("1");
  const [live, setLive] = useState(running);
  const amount = Number(delta);
  const valid = delta.trim() !== "" && Number.isFinite(amount) && amount > 0;

  const resize = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST("/api/v1/volumes/{volume_id}/resize", {
          params: { path: { volume_id: volume.id } },
          body: { delta_gb: amount, live: running && live },
        }),
      ),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: keys.volumes });
      void client.invalidateQueries({ queryKey: keys.volume(volume.id) });
      onClose();
    },
  });
  const error = resize.error;

  return (
    <EditDialog
      title="Resize Volume"
      fields={FIELDS}
      isPending={resize.isPending}
      error={error}
      errorTitle="The volume was not resized"
      submitLabel="Resize Volume"
      onSubmit={() => {
        if (valid) resize.mutate();
      }}
      onClose={onClose}
    >
      <Alert variant="warning" isInline isPlain title="Resizing a volume in use can corrupt or lose its data">
        Proceed with care. Afterwards, grow the filesystem inside the instance to use the new
        space.
      </Alert>
      <FormGroup label="Size to add (GiB)" isRequired fieldId={ids.delta}>
        <TextInput
          id={ids.delta}
          type="number"
          min={1}
          step={1}
          value={delta}
          onChange={(_e, v) => setDelta(v)}
          aria-describedby={`${ids.delta}-help ${errorIdOf(ids.delta)}`}
          validated={!valid && delta !== "" ? "error" : validatedBy(error, "delta_gb")}
          isRequired
        />
        <FormHelperText>
          <HelperText>
            <HelperTextItem id={`${ids.delta}-help`} variant={valid || delta === "" ? "default" : "error"}>
              {valid
                ? `${volume.name} grows from ${volume.size} GB to ${round(volume.size + amount)} GB.`
                : "A number of GiB above zero; it is added to the current size."}
            </HelperTextItem>
          </HelperText>
        </FormHelperText>
        <FieldError error={error} field="delta_gb" controlId={ids.delta} />
      </FormGroup>
      <FormGroup fieldId={ids.live}>
        <Checkbox
          id={ids.live}
          label="Live Resize"
          isChecked={running && live}
          isDisabled={!running}
          onChange={(_e, checked) => setLive(checked)}
          description={
            running
              ? "The running instance sees the new size without a restart. Uncheck it to resize cold, once the instance is stopped."
              : volume.attached
                ? "The instance is not running: the volume is resized cold."
                : "The volume is not attached: it is resized cold."
          }
        />
        <FieldError error={error} field="live" controlId={ids.live} />
      </FormGroup>
    </EditDialog>
  );
}

/** Sizes in GB to two decimals, as the API reports them. */
function round(gb: number): number {
  return Math.round(gb * 100) / 100;
}
