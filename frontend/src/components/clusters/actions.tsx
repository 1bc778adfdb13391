/** A cluster's actions: Edit (seed: "Editing a Cluster"). */
import type { Cluster } from "../../api/queries";
import type { ResourceAction } from "../common/actions";
import { useDialogs } from "../common/DialogHost";
import { EditClusterDialog } from "./EditClusterDialog";

export function useClusterActions(cluster: Cluster): ResourceAction[] {
  const dialogs = useDialogs();
  return [
    {
      label: "Edit",
      run: () => dialogs.open((close) => <EditClusterDialog cluster={cluster} onClose={close} />),
    },
  ];
}
