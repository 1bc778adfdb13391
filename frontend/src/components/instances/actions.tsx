/** A instance's actions (filled in by the change that builds its dialogs). */
import type { Instance } from "../../api/queries";
import type { ResourceAction } from "../common/actions";

export function useInstanceActions(_instance: Instance): ResourceAction[] {
  return [];
}
