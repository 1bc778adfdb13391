/** A datacenter's actions: Edit (seed: "Editing a Datacenter"). */
import type { Datacenter } from "../../api/queries";
import type { ResourceAction } from "../common/actions";
import { useDialogs } from "../common/DialogHost";
import { useAllowed } from "../common/permissions";
import { EditDatacenterDialog } from "./EditDatacenterDialog";

export function useDatacenterActions(datacenter: Datacenter): ResourceAction[] {
  const dialogs = useDialogs();
  const allowed = useAllowed();
  if (!allowed("datacenter.update")) return [];
  return [
    {
      label: "Edit",
      run: () =>
        dialogs.open((close) => <EditDatacenterDialog datacenter={datacenter} onClose={close} />),
    },
  ];
}
