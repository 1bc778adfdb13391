/** An organization's actions: Edit (seed: "Editing an Organization"). */
import type { Organization } from "../../api/queries";
import type { ResourceAction } from "../common/actions";
import { useDialogs } from "../common/DialogHost";
import { useAllowed } from "../common/permissions";
import { EditOrganizationDialog } from "./EditOrganizationDialog";

export function useOrganizationActions(organization: Organization): ResourceAction[] {
  const dialogs = useDialogs();
  const allowed = useAllowed();
  if (!allowed("organization.update")) return [];
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
