/** A datacenter's actions: Edit (seed: "Editing a Datacenter"). */
import type { Datacenter } from "../../api/queries";
import type { ResourceAction } from "../common/actions";
import { useDialogs } from "../common/DialogHost";
import { EditDatacenterDialog } from "./EditDatacenterDialog";

export function useDatacenterActions(datacenter: Datacenter): ResourceAction[] {
  const dialogs = useDialogs();
  return [
    {
      label: "Edit",
      run: () =>
        dialogs.open((close) => <EditDatacenterDialog datacenter={datacenter} onClose={close} />),
    },
  ];
}
