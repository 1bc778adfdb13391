/** A node's actions (filled in by the change that builds its dialogs). */
import type { Node } from "../../api/queries";
import type { ResourceAction } from "../common/actions";

export function useNodeActions(_node: Node): ResourceAction[] {
  return [];
}
