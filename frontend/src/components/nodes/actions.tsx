/**
 * A node's actions: the seed's Deploy (right-click the node → Deploy opens the Deploy
 * Instance wizard), Upload image (an ISO or disk image for instances to boot from) and Set
 * License Key, each only when a policy of the user allows it.
 */
import type { Node } from "../../api/queries";
import type { ResourceAction } from "../common/actions";
import { useDialogs } from "../common/DialogHost";
import { useAllowed } from "../common/permissions";
import { DeployInstanceDialog } from "../deploy/DeployInstanceDialog";
import { UploadImageDialog } from "../images/UploadImageDialog";
import { SetLicenseKeyDialog } from "../licensing/SetLicenseKeyDialog";

export function useNodeActions(node: Node): ResourceAction[] {
  const dialogs = useDialogs();
  const allowed = useAllowed();
  const down = node.alive ? undefined : "The node is down: its agent is not reporting.";
  const actions: (ResourceAction | false)[] = [
    allowed("instance.deploy") && {
      label: "Deploy",
      disabledReason: down,
      run: () => dialogs.open((close) => <DeployInstanceDialog node={node} onClose={close} />),
    },
    allowed("image.create") && {
      label: "Upload image",
      disabledReason: down,
      run: () => dialogs.open((close) => <UploadImageDialog nodeId={node.id} onClose={close} />),
    },
    // The API keeps and checks the key, not the node's agent: it can be set while the
    // node is down (to bring it back under a renewed key, say).
    allowed("license.set") && {
      label: "Set License Key",
      run: () => dialogs.open((close) => <SetLicenseKeyDialog node={node} onClose={close} />),
    },
  ];
  return actions.filter((action) => action !== false);
}
