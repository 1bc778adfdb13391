/** Edit an organization's name and description (seed: "Editing an Organization"). */
import { api, unwrap } from "../../api/client";
import { keys, type Organization } from "../../api/queries";
import { EditNameDialog } from "../common/EditNameDialog";

export function EditOrganizationDialog({
  organization,
  onClose,
}: {
  organization: Organization;
  onClose: () => void;
}) {
  return (
    <EditNameDialog
      title={`Edit organization ${organization.name}`}
      current={organization}
      patch={async (body) =>
        unwrap(
          await api.PATCH("/api/v1/organizations/{organization_id}", {
            params: { path: { organization_id: organization.id } },
            body,
          }),
        )
      }
      stale={[keys.organization(organization.id), keys.tree]}
      onClose={onClose}
    />
  );
}
