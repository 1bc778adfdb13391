/**
 * Power → Start / Stop / Force Stop / Restart, each confirmed ("Confirm") as the seed asks.
 * The reply is a task; the state it moves through arrives by the event feed.
 */
import { Content } from "@patternfly/react-core";
import { useMutation, useQueryClient } from "@tanstack/react-query";

import { api, unwrap } from "../../api/client";
import { type Instance, keys } from "../../api/queries";
import { ConfirmDialog } from "../common/dialogs";
import type { PowerAction } from "./states";

export const POWER_LABELS: Record<PowerAction, string> = {
  start: "Start",
  stop: "Stop",
  kill: "Force Stop",
  restart: "Restart",
};

const EXPLANATIONS: Record<PowerAction, string> = {
  start: "The instance boots; follow it on the Console tab.",
  stop: "The guest is asked to shut down, so its processes end properly; this may take a few moments.",
  kill: "Force stopping terminates all processes immediately; unsaved data may be lost. Use it only when a normal stop fails.",
  restart: "The instance stops and starts again.",
};

interface Props {
  instance: Instance;
  action: PowerAction;
  onClose: () => void;
}

export function PowerInstanceDialog({ instance, action, onClose }: Props) {
  const client = useQueryClient();
  const power = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST("/api/v1/instances/{instance_id}/power", {
          params: { path: { instance_id: instance.id } },
          // The server's default wait for a guest to stop, spelled out because the
          // generated type makes every field with a default required.
          body: { action, timeout: 120 },
        }),
      ),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: keys.instance(instance.id) });
      void client.invalidateQueries({ queryKey: keys.instances });
      onClose();
    },
  });
  return (
    <ConfirmDialog
      title={`${POWER_LABELS[action]} ${instance.name}?`}
      variant={action === "kill" ? "danger" : "primary"}
      isPending={power.isPending}
      error={power.error}
      onConfirm={() => power.mutate()}
      onClose={onClose}
    >
      <Content component="p">{EXPLANATIONS[action]}</Content>
    </ConfirmDialog>
  );
}
