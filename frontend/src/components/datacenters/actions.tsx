/** A datacenter's actions (filled in by the change that builds its dialogs). */
import type { Datacenter } from "../../api/queries";
import type { ResourceAction } from "../common/actions";

export function useDatacenterActions(_datacenter: Datacenter): ResourceAction[] {
  return [];
}
