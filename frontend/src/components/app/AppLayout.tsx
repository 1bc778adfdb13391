/**
 * The frame every page sits in: the masthead across the top, the resource tree on the
 * left, the selected resource's page on the right (seed: "Web Interface Overview"), and
 * the tasks drawer, which slides in from the right over the page.
 */
import { Page, PageSidebar, PageSidebarBody } from "@patternfly/react-core";
import { useState } from "react";
import { Outlet, useLocation } from "react-router";

import { ErrorBoundary } from "../common/ErrorBoundary";
import { TaskFailureAlerts } from "../tasks/TaskFailureAlerts";
import { TasksDrawer } from "../tasks/TasksDrawer";
import { ResourceTree } from "../tree/ResourceTree";
import { AppMasthead } from "./AppMasthead";

export function AppLayout() {
  const [tasksOpen, setTasksOpen] = useState(false);
  const { pathname } = useLocation();
  const sidebar = (
    <PageSidebar>
      <PageSidebarBody isFilled className="ce-sidebar-tree">
        <ResourceTree />
      </PageSidebarBody>
    </PageSidebar>
  );
  return (
    <Page
      masthead={
        <AppMasthead tasksOpen={tasksOpen} onToggleTasks={() => setTasksOpen((open) => !open)} />
      }
      sidebar={sidebar}
      isManagedSidebar
      notificationDrawer={<TasksDrawer onClose={() => setTasksOpen(false)} />}
      isNotificationDrawerExpanded={tasksOpen}
    >
      <TaskFailureAlerts onShowTasks={() => setTasksOpen(true)} />
      {/* Keyed by the path: going to another page leaves a failed one behind. */}
      <ErrorBoundary key={pathname}>
        <Outlet />
      </ErrorBoundary>
    </Page>
  );
}
