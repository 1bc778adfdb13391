/**
 * An instance's page: its status and actions (Power, Edit, Destroy) in the header, and the
 * seed's tabs: Summary, Console, Resources, Backups. Everything shown is query data the
 * event feed refreshes, so state changes and the actions they allow follow without reload.
 */
import { useParams } from "react-router";

import { ApiError } from "../../api/errors";
import { type Instance, useInstance } from "../../api/queries";
import { ActionButtons } from "../common/ActionButtons";
import { useAllowed } from "../common/permissions";
import { type PageTab, QueryState, ResourcePage } from "../common/ResourcePage";
import { InstanceConsole } from "../consoles/InstanceConsole";
import { useInstanceActions } from "./actions";
import { InstanceBackups } from "./InstanceBackups";
import { InstanceResources } from "./InstanceResources";
import { InstanceStatus } from "./InstanceStatus";
import { InstanceSummaryCard } from "./InstanceSummaryCard";

export function InstancePage() {
  const { id = "" } = useParams();
  const query = useInstance(id);
  // A refetch that finds the instance gone (destroyed elsewhere) keeps the old data in the
  // cache; the page says it is gone instead of showing it.
  const gone = query.error instanceof ApiError && query.error.code === 404;
  if (!query.data || gone) return <QueryState error={query.error} isPending={query.isPending} />;
  return <InstanceView instance={query.data.instance} />;
}

function InstanceView({ instance }: { instance: Instance }) {
  const actions = useInstanceActions(instance);
  const allowed = useAllowed();
  const tabs: (PageTab | false)[] = [
    { key: "summary", title: "Summary", content: <InstanceSummaryCard instance={instance} /> },
    // Without instance.console the server refuses every console ticket.
    allowed("instance.console") && {
      key: "console",
      title: "Console",
      content: <InstanceConsole instance={instance} />,
    },
    { key: "resources", title: "Resources", content: <InstanceResources instance={instance} /> },
    { key: "backups", title: "Backups", content: <InstanceBackups instance={instance} /> },
  ];
  return (
    <ResourcePage
      kind="Instance"
      title={instance.name}
      status={<InstanceStatus state={instance.state} />}
      actions={actions.length > 0 ? <ActionButtons actions={actions} /> : undefined}
      basePath={`/instances/${instance.id}`}
      tabs={tabs.filter((tab) => tab !== false)}
    />
  );
}
