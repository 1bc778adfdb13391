/** A organization's actions (filled in by the change that builds its dialogs). */
import type { Organization } from "../../api/queries";
import type { ResourceAction } from "../common/actions";

export function useOrganizationActions(_organization: Organization): ResourceAction[] {
  return [];
}
