/**
 * An instance's actions, as the seed names them: Power → Start / Stop / Force Stop /
 * Restart, Edit, Destroy. Shown by the tree's right-click menu and the instance page's
 * header alike. Each is disabled with the server's rule while the state forbids it, and
 * follows the state the event feed brings (the instance passed in is query data). An action
 * no policy of the user allows is left out (an Operator sees no Destroy).
 */
import { useNavigate } from "react-router";

import type { Instance } from "../../api/queries";
import { paths } from "../app/routes";
import type { ResourceAction } from "../common/actions";
import { useDialogs } from "../common/DialogHost";
import { useAllowed } from "../common/permissions";
import { DestroyInstanceDialog } from "./DestroyInstanceDialog";
import { EditInstanceDialog } from "./EditInstanceDialog";
import { POWER_LABELS, PowerInstanceDialog } from "./PowerInstanceDialog";
import { destroyRefusal, type PowerAction, powerRefusal } from "./states";

const POWER_ORDER: PowerAction[] = ["start", "stop", "kill", "restart"];

export function useInstanceActions(instance: Instance): ResourceAction[] {
  const dialogs = useDialogs();
  const navigate = useNavigate();
  const allowed = useAllowed();
  const actions: (ResourceAction | false)[] = [
    allowed("instance.power") && {
      label: "Power",
      children: POWER_ORDER.map((action) => ({
        label: POWER_LABELS[action],
        isDanger: action === "kill",
        disabledReason: powerRefusal(instance, action),
        run: () =>
          dialogs.open((close) => (
            <PowerInstanceDialog instance={instance} action={action} onClose={close} />
          )),
      })),
    },
    allowed("instance.update") && {
      label: "Edit",
      run: () => dialogs.open((close) => <EditInstanceDialog instance={instance} onClose={close} />),
    },
    allowed("instance.destroy") && {
      label: "Destroy",
      isDanger: true,
      disabledReason: destroyRefusal(instance),
      run: () =>
        dialogs.open((close) => (
          <DestroyInstanceDialog
            instance={instance}
            onClose={close}
            // From the instance's own page, go where it lived; elsewhere (the tree's menu
            // on another page) stay put. Read when it happens, not subscribed to: every
            // tree row has these actions, and none should re-render on each navigation.
            onDestroyed={() => {
              if (window.location.pathname.startsWith(paths.instance(instance.id))) {
                void navigate(paths.node(instance.node_id));
              }
            }}
          />
        )),
    },
  ];
  return actions.filter((action) => action !== false);
}
