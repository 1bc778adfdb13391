/** An organization's actions: Edit (seed: "Editing an Organization"). */
import type { Organization } from "../../api/queries";
import type { ResourceAction } from "../common/actions";
import { useDialogs } from "../common/DialogHost";
import { EditOrganizationDialog } from "./EditOrganizationDialog";

export function useOrganizationActions(organization: Organization): ResourceAction[] {
  const dialogs = useDialogs();
  return [
    {
      label: "Edit",
      run: () =>
        dialogs.open((close) => (
          <EditOrganizationDialog organization={organization} onClose={close} />
        )),
    },
  ];
}
