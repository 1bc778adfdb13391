/** A cluster's actions: Edit (seed: "Editing a Cluster"). */
import type { Cluster } from "../../api/queries";
import type { ResourceAction } from "../common/actions";
import { useDialogs } from "../common/DialogHost";
import { useAllowed } from "../common/permissions";
import { EditClusterDialog } from "./EditClusterDialog";

export function useClusterActions(cluster: Cluster): ResourceAction[] {
  const dialogs = useDialogs();
  const allowed = useAllowed();
  if (!allowed("cluster.update")) return [];
  return [
    {
      label: "Edit",
      run: () => dialogs.open((close) => <EditClusterDialog cluster={cluster} onClose={close} />),
    },
  ];
}
