/**
 * A node's actions: the seed's Deploy (right-click the node → Deploy opens the Deploy
 * Instance wizard) and Upload image (an ISO or disk image for instances to boot from).
 */
import type { Node } from "../../api/queries";
import type { ResourceAction } from "../common/actions";
import { useDialogs } from "../common/DialogHost";
import { DeployInstanceDialog } from "../deploy/DeployInstanceDialog";
import { UploadImageDialog } from "../images/UploadImageDialog";

export function useNodeActions(node: Node): ResourceAction[] {
  const dialogs = useDialogs();
  const down = node.alive ? undefined : "The node is down: its agent is not reporting.";
  return [
    {
      label: "Deploy",
      disabledReason: down,
      run: () => dialogs.open((close) => <DeployInstanceDialog node={node} onClose={close} />),
    },
    {
      label: "Upload image",
      disabledReason: down,
      run: () => dialogs.open((close) => <UploadImageDialog nodeId={node.id} onClose={close} />),
    },
  ];
}
