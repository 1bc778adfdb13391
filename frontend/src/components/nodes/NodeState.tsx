/** Whether a node's agent is reporting (alive: within the last 30 s) as a label. */
import { Label } from "@patternfly/react-core";

export function NodeState({ alive, joining = false }: { alive: boolean; joining?: boolean }) {
  if (joining)
    return (
      <Label isCompact status="info">
        Joining
      </Label>
    );
  return alive ? (
    <Label isCompact status="success">
      Alive
    </Label>
  ) : (
    <Label isCompact status="danger">
      Down
    </Label>
  );
}
