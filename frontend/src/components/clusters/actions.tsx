/** A cluster's actions (filled in by the change that builds its dialogs). */
import type { Cluster } from "../../api/queries";
import type { ResourceAction } from "../common/actions";

export function useClusterActions(_cluster: Cluster): ResourceAction[] {
  return [];
}
