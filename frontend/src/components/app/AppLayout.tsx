/**
 * The frame every page sits in: the masthead across the top, the resource tree on the
 * left, the selected resource's page on the right (seed: "Web Interface Overview").
 */
import { Page, PageSidebar, PageSidebarBody } from "@patternfly/react-core";
import { Outlet } from "react-router";

import { ResourceTree } from "../tree/ResourceTree";
import { AppMasthead } from "./AppMasthead";

export function AppLayout() {
  const sidebar = (
    <PageSidebar>
      <PageSidebarBody isFilled className="ce-sidebar-tree">
        <ResourceTree />
      </PageSidebarBody>
    </PageSidebar>
  );
  return (
    <Page masthead={<AppMasthead />} sidebar={sidebar} isManagedSidebar>
      <Outlet />
    </Page>
  );
}
